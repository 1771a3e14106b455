import Foundation
import GRDB
import ProcessDefinitions
import SpoolClient

/// One row of `tasks`: one task of one process, its latest attempt.
public struct TaskRecord: Codable, Sendable, FetchableRecord, PersistableRecord, TimestampedRecord {
    public static let databaseTableName = "tasks"

    public var processID: String
    public var taskName: String
    /// Place in the status file's `tasks` list: definition order, then `on_failure` tasks.
    public var position: Int
    public var mode: TaskDefinition.Mode
    public var status: TaskStatus
    public var attempts: Int
    /// Attempts that do not count against `retry.max_attempts`: those used before the last
    /// `spoolrunner retry`, and attempts interrupted by the runner's own death (SPEC §6).
    public var retryBase: Int
    public var startedAt: Date?
    public var endedAt: Date?
    public var exitCode: Int?
    public var output: [String: JSONValue]?
    public var error: FailureInfo?
    /// When a `retrying` task's next attempt is due: stored so that retry timers survive restarts.
    public var nextAttemptAt: Date?
    /// The running attempt's process (group leader) and its start time in clock ticks since boot
    /// (field 22 of /proc/PID/stat), so a later runner can tell whether the pid is still ours.
    public var pid: Int?
    public var pidStartTicks: Int64?
    /// When a running `sleep:` task's wait is over: stored so that after a crash the sleep
    /// resumes with the time it had left (SPEC §6).
    public var sleepUntil: Date?
    /// Whether this is an `on_failure` task (listed in status files only once it runs).
    public var onFailure: Bool

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case taskName = "task_name"
        case position, mode, status, attempts
        case retryBase = "retry_base"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case exitCode = "exit_code"
        case output = "output_json"
        case error = "error_json"
        case nextAttemptAt = "next_attempt_at"
        case pid
        case pidStartTicks = "pid_start_ticks"
        case onFailure = "on_failure"
        case sleepUntil = "sleep_until"
    }

    public enum Columns {
        public static let processID = Column(CodingKeys.processID)
        public static let position = Column(CodingKeys.position)
    }

    public init(processID: String, taskName: String, position: Int, mode: TaskDefinition.Mode, onFailure: Bool) {
        self.processID = processID
        self.taskName = taskName
        self.position = position
        self.mode = mode
        self.status = .pending
        self.attempts = 0
        self.retryBase = 0
        self.onFailure = onFailure
    }
}
