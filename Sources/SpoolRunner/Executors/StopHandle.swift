import Synchronization

/// Lets the engine stop one running task attempt (cancel, process timeout, shutdown) without
/// cancelling the task group that runs every attempt.
///
/// The executor registers what "stop" means for its attempt (signal a process group, end a
/// sleep); a stop that comes before the registration is applied as soon as it happens.
package final class StopHandle: Sendable {
    package enum Reason: String, Sendable {
        /// `spoolrunner cancel`.
        case cancelled
        /// The whole process ran past its `timeout`.
        case processTimeout
        /// The runner is shutting down and the grace period is over.
        case shutdown
        /// The runner lost its lease on the process (fenced, or a commit found it taken over):
        /// another runner may run it now, so it is stopped at once, SIGKILL sooner.
        case leaseLost
    }

    private struct State {
        var reason: Reason?
        var action: (@Sendable (Reason) -> Void)?
    }

    private let state = Mutex(State())

    package init() {}

    /// Why the attempt was stopped, if it was.
    package var reason: Reason? { state.withLock { $0.reason } }

    package func stop(_ reason: Reason) {
        let action: (@Sendable (Reason) -> Void)? = state.withLock { state in
            guard state.reason == nil else { return nil }
            state.reason = reason
            return state.action
        }
        action?(reason)
    }

    /// Registers the stop action; runs it at once when a stop already came.
    package func onStop(_ action: @escaping @Sendable (Reason) -> Void) {
        let pending: Reason? = state.withLock { state in
            state.action = action
            return state.reason
        }
        if let pending { action(pending) }
    }
}
