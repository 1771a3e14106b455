import Foundation
import Logging
import Synchronization

/// The conditions the runner is waiting out (a busy or full store, a full disk), shared by
/// every writer: the engine, the status writer thread, the executors.
///
/// While any is active the engine takes no new request and starts no task; what already runs
/// goes on, and nothing that was committed is lost or reported as done before it is. Each state
/// change is logged once (not once per retry) and wakes the engine, which rewrites runner.json.
package final class RunnerPause: Sendable {
    private struct State {
        var active: [PauseSource: PauseCondition] = [:]
        var last: PauseCondition?
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let onChange: @Sendable () -> Void

    package init(logger: Logger, onChange: @escaping @Sendable () -> Void = {}) {
        self.logger = logger
        self.onChange = onChange
    }

    /// Whether intake and task starts must wait.
    package var isPaused: Bool { state.withLock { !$0.active.isEmpty } }

    package func isActive(_ source: PauseSource) -> Bool { state.withLock { $0.active[source] != nil } }

    /// Active conditions, oldest first.
    package var active: [PauseCondition] { state.withLock { $0.active.values.sorted { $0.since < $1.since } } }

    /// The last condition that cleared.
    package var last: PauseCondition? { state.withLock { $0.last } }

    /// Records that `source` hit `reason`; logs and wakes the engine only when that is news.
    package func raise(_ source: PauseSource, _ reason: PauseReason, path: String, message: String) {
        let isNews = state.withLock { state -> Bool in
            if let current = state.active[source], current.reason == reason { return false }
            state.active[source] = PauseCondition(
                source: source, reason: reason, message: message, path: path, since: Date())
            return true
        }
        guard isNews else { return }
        logger.warning(
            "paused (\(reason.rawValue)): \(message); new requests wait in inbox/ and no task starts until it clears",
            metadata: ["pause.source": "\(source.rawValue)"])
        onChange()
    }

    /// Records that `source` wrote again; logs and wakes the engine when it had been paused.
    package func clear(_ source: PauseSource) {
        let cleared = state.withLock { state -> PauseCondition? in
            guard var condition = state.active.removeValue(forKey: source) else { return nil }
            condition.endedAt = Date()
            state.last = condition
            return condition
        }
        guard let cleared else { return }
        let waited = String(format: "%.1f", (cleared.endedAt ?? Date()).timeIntervalSince(cleared.since))
        logger.notice(
            "resumed: \(cleared.reason.rawValue) is over after \(waited) s",
            metadata: ["pause.source": "\(source.rawValue)"])
        onChange()
    }
}
