/// Tasks whose dependencies are met, waiting for a free slot, oldest process first.
///
/// Older processes go first so that a burst of requests completes roughly in arrival order
/// instead of every process progressing in lockstep and all finishing late.
struct ReadyQueue {
    struct Entry: Comparable {
        var sequence: Int
        var index: Int
        var processID: String

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.sequence, lhs.index) < (rhs.sequence, rhs.index)
        }
    }

    private var heap: [Entry] = []

    mutating func insert(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let minimum = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left] < heap[smallest] { smallest = left }
            if right < heap.count, heap[right] < heap[smallest] { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return minimum
    }
}
