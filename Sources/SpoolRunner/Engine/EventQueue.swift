import Synchronization

/// The engine's mailbox: any task may post; the engine takes everything posted so far in one
/// batch, which is what lets it group many state changes into one commit under load.
///
/// The events wait in a buffer; an `AsyncStream` of wake-ups (at most one pending) tells the
/// engine there is something to take. Waiting on the stream ends when the waiting task is
/// cancelled, so a cancelled engine stops instead of waiting for ever.
final class EventQueue: Sendable {
    private let buffer = Mutex<[EngineEvent]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func post(_ event: EngineEvent) {
        buffer.withLock { $0.append(event) }
        wake.yield()
    }

    /// Waits until at least one event is there and returns all of them, oldest first; nil once
    /// the waiting task is cancelled. Only the engine's loop calls it (one consumer).
    func next() async -> [EngineEvent]? {
        var iterator = wakeups.makeAsyncIterator()
        while true {
            let batch = buffer.withLock { events -> [EngineEvent] in
                defer { events.removeAll(keepingCapacity: true) }
                return events
            }
            if !batch.isEmpty { return batch }
            if Task.isCancelled { return nil }
            // A post between the take above and this wait left its wake-up buffered: no event
            // is missed.
            guard await iterator.next() != nil else { return nil }
        }
    }
}
