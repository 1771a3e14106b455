import Foundation
import Synchronization

/// Writes status files on its own thread, newest document per process first come, so the
/// engine never waits for the filesystem.
///
/// File creation is the slowest thing the runner does (a new inode per atomic rewrite); doing
/// it here keeps it off the engine's critical path, and under load it coalesces by itself: a
/// process changed several times while the thread was busy gets one write of its latest state
/// (SPEC §2: changes a few milliseconds apart may be written as one; the final one always is).
public final class StatusPublisher: Sendable {
    private struct State {
        var pending: [String: StatusDocument] = [:]
        var order: [String] = []
        var writing = false
        var stopped = false
    }

    private let writer: StatusWriter
    private let state = Mutex(State())
    private let condition = NSCondition()
    private let onError: @Sendable (String, SpoolError) -> Void

    public init(writer: StatusWriter, onError: @escaping @Sendable (String, SpoolError) -> Void) {
        self.writer = writer
        self.onError = onError
        let thread = Thread { [self] in self.loop() }
        thread.name = "spoolrunner.status"
        thread.start()
    }

    /// Queues `document`, replacing any older one of the same process not yet written.
    public func publish(_ document: StatusDocument) {
        condition.lock()
        state.withLock { state in
            if state.pending.updateValue(document, forKey: document.processID) == nil {
                state.order.append(document.processID)
            }
        }
        condition.signal()
        condition.unlock()
    }

    /// Returns once everything queued so far is written.
    public func drain() {
        condition.lock()
        while state.withLock({ !$0.pending.isEmpty || $0.writing }) {
            _ = condition.wait(until: Date().addingTimeInterval(0.01))
        }
        condition.unlock()
    }

    /// Writes what is queued, then ends the thread.
    public func stop() {
        drain()
        condition.lock()
        state.withLock { $0.stopped = true }
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            var batch: [StatusDocument] = []
            while true {
                let (taken, stopped) = state.withLock { state -> ([StatusDocument], Bool) in
                    let taken = state.order.compactMap { state.pending[$0] }
                    state.pending.removeAll(keepingCapacity: true)
                    state.order.removeAll(keepingCapacity: true)
                    state.writing = !taken.isEmpty
                    return (taken, state.stopped)
                }
                if !taken.isEmpty { batch = taken; break }
                if stopped { condition.unlock(); return }
                condition.wait()
            }
            condition.unlock()
            for document in batch {
                do {
                    try writer.write(document)
                } catch {
                    onError(document.processID, error)
                }
            }
            condition.lock()
            state.withLock { $0.writing = false }
            condition.broadcast()
            condition.unlock()
        }
    }
}
