/// The `code` of an `error` object in status files, task and process rows, and rejection files
/// (SPEC §3 "Rejections", §4): the same strings everywhere, compared as cases, never as text.
public enum FailureCode: String, Codable, Sendable, CaseIterable {
    // How a task attempt or a process ended.
    /// The program exited non-zero or was killed by a signal. Retried under `retry:`.
    case exitStatus = "exit_status"
    /// The task or the process ran past its `timeout`. Retried under `retry:` (a task's own).
    case timeout
    /// The runner stopped while the task ran and it is not idempotent (SPEC §6).
    case interrupted
    case cancelled
    /// The program could not be started (not found, not executable, no output pipe).
    case spawnFailed = "spawn_failed"
    /// A template could not be filled when the task was about to start.
    case template
    /// The process was running during too many runner crashes in a row (SPEC §6).
    case crashLoop = "crash_loop"
    /// Only in the detail of a `task_failed` event: a retrying task whose next attempt will not
    /// come because the process failed meanwhile.
    case retryAbandoned = "retry_abandoned"

    // Why a request or control file was rejected; `unknown_process_type` also ends a process
    // whose definition disappeared while it was unfinished.
    case invalidJSON = "invalid_json"
    case notAnObject = "not_an_object"
    case tooLarge = "too_large"
    case invalidProcessID = "invalid_process_id"
    case unknownProcessType = "unknown_process_type"
    case invalidInputs = "invalid_inputs"
    case duplicateProcessID = "duplicate_process_id"
    case notARegularFile = "not_a_regular_file"
    case permissionDenied = "permission_denied"
    case unknownAction = "unknown_action"
    case unknownProcess = "unknown_process"

    /// Whether another attempt can help: a spawn failure or a template error fails the same way
    /// again, and a cancel or an interruption is not the program's failure.
    public var isRetryable: Bool {
        switch self {
        case .exitStatus, .timeout: true
        default: false
        }
    }
}

/// Interpolated as its stored text (`exit_status`, not `exitStatus`) in messages and logs.
extension FailureCode: CustomStringConvertible {
    public var description: String { rawValue }
}
