/// The "waits for" graph of one task list (`tasks:` or `on_failure:`), by position in the list.
///
/// It applies the ordering rule of the spec: a task with `needs` waits for exactly those tasks;
/// any other task waits for the nearest sync task listed before it, so a sync task holds up
/// every later task and an async one holds up none. Because `needs` may point forwards, the
/// graph can have cycles, which the loader reports with `cycles()` before any process runs.
struct TaskGraph {
    /// For each task, the positions of the tasks it waits for.
    let dependencies: [[Int]]

    /// - Parameters:
    ///   - modes: each task's mode, in list order.
    ///   - needs: each task's `needs` as positions in the same list (unknown names already
    ///     dropped), or nil when it has none and follows the sync/async rule.
    init(modes: [TaskDefinition.Mode], needs: [[Int]?]) {
        var dependencies: [[Int]] = []
        var lastSync: Int?
        for index in modes.indices {
            if let explicit = needs[index] {
                var seen = Set<Int>()
                dependencies.append(explicit.filter { seen.insert($0).inserted })
            } else {
                dependencies.append(lastSync.map { [$0] } ?? [])
            }
            if modes[index] == .sync { lastSync = index }
        }
        self.dependencies = dependencies
    }

    /// Every task `index` waits for, directly or through others (itself only when in a cycle).
    func ancestors(of index: Int) -> Set<Int> {
        var found = Set<Int>()
        var pending = dependencies[index]
        while let next = pending.popLast() {
            if found.insert(next).inserted { pending += dependencies[next] }
        }
        return found
    }

    /// One cycle for each group of tasks that wait for each other, each written as the path
    /// from its earliest-listed task back to that task (`[a, b, c, a]`).
    func cycles() -> [[Int]] {
        var result: [[Int]] = []
        var covered = Set<Int>()
        for start in dependencies.indices where !covered.contains(start) {
            guard let path = shortestPath(from: start, backTo: start) else { continue }
            // The whole strongly connected group around `start` is one problem, reported once.
            let group = ancestors(of: start).filter { ancestors(of: $0).contains(start) }
            covered.formUnion(group)
            covered.insert(start)
            result.append(path)
        }
        return result
    }

    /// The shortest walk along "waits for" edges from `start` to `target`, both included.
    func shortestPath(from start: Int, backTo target: Int) -> [Int]? {
        var previous: [Int: Int] = [:]
        var queue = dependencies[start].map { ($0, start) }
        var head = 0
        var visited = Set<Int>()
        while head < queue.count {
            let (node, from) = queue[head]
            head += 1
            guard visited.insert(node).inserted else { continue }
            previous[node] = from
            if node == target {
                var path = [target]
                var cursor = from
                while cursor != start {
                    path.append(cursor)
                    cursor = previous[cursor]!
                }
                path.append(start)
                return path.reversed()
            }
            queue += dependencies[node].map { ($0, node) }
        }
        return nil
    }
}
