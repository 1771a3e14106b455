import Synchronization

/// The stop handles of the runner's task attempts, reachable without the engine loop.
///
/// A lease that ends must stop every task at once (SPEC §9 self-fencing: dead before another
/// runner may take them over), even while the loop waits on the store: a claim or a lookup
/// against a database that a network split made unreachable can hold it for as long as the
/// split lasts (seen in the partition test: the fence came 12 s after the deadline). The lease
/// keeper stops them here first; the loop drops their processes when it gets to the event.
/// A handle left here after its task ended is harmless: stopping it signals nothing.
final class LiveAttempts: Sendable {
    private let handles = Mutex<[ObjectIdentifier: StopHandle]>([:])

    func insert(_ handle: StopHandle) {
        handles.withLock { $0[ObjectIdentifier(handle)] = handle }
    }

    func remove(_ handle: StopHandle) {
        _ = handles.withLock { $0.removeValue(forKey: ObjectIdentifier(handle)) }
    }

    /// Stops every live attempt; returns how many there were.
    @discardableResult
    func stopAll(_ reason: StopHandle.Reason) -> Int {
        let all = handles.withLock { Array($0.values) }
        for handle in all { handle.stop(reason) }
        return all.count
    }
}
