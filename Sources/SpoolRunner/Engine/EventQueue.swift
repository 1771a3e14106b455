import Synchronization

/// The engine's mailbox: any task may post; the engine takes everything posted so far in one
/// batch, which is what lets it group many state changes into one commit under load.
final class EventQueue: Sendable {
    private struct State {
        var events: [EngineEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func post(_ event: EngineEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.events.append(event)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until at least one event is there and returns all of them, oldest first.
    func next() async -> [EngineEvent] {
        while true {
            let batch = state.withLock { state -> [EngineEvent] in
                defer { state.events.removeAll(keepingCapacity: true) }
                return state.events
            }
            if !batch.isEmpty { return batch }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.events.isEmpty { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
