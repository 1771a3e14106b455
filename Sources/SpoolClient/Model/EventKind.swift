/// The `event` column of the append-only `events` table and the message of the matching log
/// line: one state change of a process or of one of its tasks.
public enum EventKind: String, Codable, Sendable, CaseIterable {
    /// The request was taken from `inbox/`.
    case accepted
    case processStarted = "process_started"
    case taskStarted = "task_started"
    case taskSucceeded = "task_succeeded"
    case taskFailed = "task_failed"
    /// The attempt failed and another is due at `next_attempt_at` (in the detail).
    case taskRetrying = "task_retrying"
    /// Never ran: something it needs did not succeed, or the process failed or was cancelled.
    case taskSkipped = "task_skipped"
    case taskCancelled = "task_cancelled"
    /// Found running by a runner that started after a crash or a shutdown (SPEC §6).
    case taskInterrupted = "task_interrupted"
    case processSucceeded = "process_succeeded"
    case processFailed = "process_failed"
    case processCancelled = "process_cancelled"
    /// The process ran past its `timeout`; it fails once its running tasks are stopped.
    case processTimeout = "process_timeout"
    case retryRequested = "retry_requested"
    case cancelRequested = "cancel_requested"
    /// A runner resumed the unfinished process at its start.
    case recovered
    /// The process was given up after too many runner crashes in a row.
    case crashLoop = "crash_loop"
    /// A schedule slot was not submitted: the entry's previous run had not ended (`overlap: skip`).
    case scheduleSkipped = "schedule_skipped"
    /// Several hosts (SPEC §9): the process's runner died (its lease expired); the leader's
    /// reaper recovered it for another runner, naming the dead one (`previous_runner`).
    case takenOver = "taken_over"

    /// Whether the event tells of something that went wrong: logged as a warning, not as info.
    public var isFailure: Bool {
        switch self {
        case .taskFailed, .processFailed, .crashLoop: true
        default: false
        }
    }
}

/// Interpolated as its stored text (`exit_status`, not `exitStatus`) in messages and logs.
extension EventKind: CustomStringConvertible {
    public var description: String { rawValue }
}
