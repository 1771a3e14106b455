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

    /// Every task that waits for `index`, directly or through others: one walk answers "does
    /// task i wait for `index`?" for every i, so checking templates stays linear in the tasks
    /// however long the implicit sync chain is.
    func descendants(of index: Int) -> Set<Int> {
        var dependents = Array(repeating: [Int](), count: dependencies.count)
        for (task, waitsFor) in dependencies.enumerated() {
            for target in waitsFor { dependents[target].append(task) }
        }
        var found = Set<Int>()
        var pending = dependents[index]
        while let next = pending.popLast() {
            if found.insert(next).inserted { pending += dependents[next] }
        }
        return found
    }

    /// Whether `index` waits for `target` when that is found within `budget` steps walking back
    /// from `index`; nil when the walk ran out of budget without an answer.
    func waits(_ index: Int, for target: Int, budget: Int) -> Bool? {
        var found = Set<Int>()
        var pending = dependencies[index]
        var steps = 0
        while let next = pending.popLast() {
            if next == target { return true }
            steps += 1
            if steps > budget { return nil }
            if found.insert(next).inserted { pending += dependencies[next] }
        }
        return false
    }

    /// One cycle for each group of tasks that wait for each other, each written as the path
    /// from its earliest-listed task back to that task (`[a, b, c, a]`).
    ///
    /// Linear in tasks and edges: the groups are the strongly connected components (Tarjan's
    /// algorithm, without recursion so a 10,000-task chain cannot exhaust the stack), and the
    /// path is searched only inside its own group.
    func cycles() -> [[Int]] {
        var result: [[Int]] = []
        for component in stronglyConnectedComponents() {
            let members = Set(component)
            guard let start = component.min() else { continue }
            guard component.count > 1 || dependencies[start].contains(start) else { continue }
            if let path = shortestPath(from: start, backTo: start, within: members) { result.append(path) }
        }
        return result.sorted { $0[0] < $1[0] }
    }

    /// Tarjan's strongly connected components over "waits for" edges, iteratively.
    func stronglyConnectedComponents() -> [[Int]] {
        let count = dependencies.count
        var indexOf = Array(repeating: -1, count: count)
        var lowLink = Array(repeating: 0, count: count)
        var onStack = Array(repeating: false, count: count)
        var stack: [Int] = []
        var components: [[Int]] = []
        var nextIndex = 0
        for root in 0..<count where indexOf[root] < 0 {
            // Each frame: a node and how many of its edges have been followed.
            var frames: [(node: Int, edge: Int)] = [(root, 0)]
            indexOf[root] = nextIndex
            lowLink[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack[root] = true
            while let frame = frames.last {
                let node = frame.node
                if frame.edge < dependencies[node].count {
                    frames[frames.count - 1].edge += 1
                    let next = dependencies[node][frame.edge]
                    if indexOf[next] < 0 {
                        indexOf[next] = nextIndex
                        lowLink[next] = nextIndex
                        nextIndex += 1
                        stack.append(next)
                        onStack[next] = true
                        frames.append((next, 0))
                    } else if onStack[next] {
                        lowLink[node] = Swift.min(lowLink[node], indexOf[next])
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.node { lowLink[parent] = Swift.min(lowLink[parent], lowLink[node]) }
                if lowLink[node] == indexOf[node] {
                    var component: [Int] = []
                    while let member = stack.popLast() {
                        onStack[member] = false
                        component.append(member)
                        if member == node { break }
                    }
                    components.append(component)
                }
            }
        }
        return components
    }

    /// The shortest walk along "waits for" edges from `start` to `target`, both included,
    /// through `members` only.
    func shortestPath(from start: Int, backTo target: Int, within members: Set<Int>) -> [Int]? {
        var previous: [Int: Int] = [:]
        var queue = dependencies[start].filter(members.contains).map { ($0, start) }
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
            queue += dependencies[node].filter(members.contains).map { ($0, node) }
        }
        return nil
    }
}
