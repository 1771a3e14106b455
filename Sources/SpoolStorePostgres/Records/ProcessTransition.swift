import Foundation

/// The durable changes of one process in one commit: the `processes` row, the `tasks` rows
/// that changed, the new `events`. Timestamps are the engine's ISO-8601 strings (the executing
/// runner's clock); JSON columns carry JSON text.
public struct ProcessTransition: Sendable {
    public struct Process: Sendable, Encodable {
        public var status: String
        public var startedAt: String?
        public var endedAt: String?
        public var updatedAt: String
        public var errorJSON: String?
        public var crashCount: Int

        public init(
            status: String, startedAt: String? = nil, endedAt: String? = nil, updatedAt: String,
            errorJSON: String? = nil, crashCount: Int = 0
        ) {
            self.status = status
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.updatedAt = updatedAt
            self.errorJSON = errorJSON
            self.crashCount = crashCount
        }

        enum CodingKeys: String, CodingKey {
            case status
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case updatedAt = "updated_at"
            case errorJSON = "error_json"
            case crashCount = "crash_count"
        }
    }

    public struct Task: Sendable, Encodable {
        public var taskName: String
        public var position: Int
        public var mode: String
        public var status: String
        public var attempts: Int
        public var retryBase: Int
        public var startedAt: String?
        public var endedAt: String?
        public var exitCode: Int?
        public var outputJSON: String?
        public var errorJSON: String?
        public var nextAttemptAt: String?
        public var pid: Int32?
        public var pidStartTicks: Int64?
        public var onFailure: Bool
        public var sleepUntil: String?
        public var machineID: String?

        public init(
            taskName: String, position: Int, mode: String, status: String, attempts: Int = 0, retryBase: Int = 0,
            startedAt: String? = nil, endedAt: String? = nil, exitCode: Int? = nil, outputJSON: String? = nil,
            errorJSON: String? = nil, nextAttemptAt: String? = nil, pid: Int32? = nil, pidStartTicks: Int64? = nil,
            onFailure: Bool = false, sleepUntil: String? = nil, machineID: String? = nil
        ) {
            self.taskName = taskName
            self.position = position
            self.mode = mode
            self.status = status
            self.attempts = attempts
            self.retryBase = retryBase
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.exitCode = exitCode
            self.outputJSON = outputJSON
            self.errorJSON = errorJSON
            self.nextAttemptAt = nextAttemptAt
            self.pid = pid
            self.pidStartTicks = pidStartTicks
            self.onFailure = onFailure
            self.sleepUntil = sleepUntil
            self.machineID = machineID
        }

        enum CodingKeys: String, CodingKey {
            case taskName = "task_name"
            case position, mode, status, attempts
            case retryBase = "retry_base"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case exitCode = "exit_code"
            case outputJSON = "output_json"
            case errorJSON = "error_json"
            case nextAttemptAt = "next_attempt_at"
            case pid
            case pidStartTicks = "pid_start_ticks"
            case onFailure = "on_failure"
            case sleepUntil = "sleep_until"
            case machineID = "machine_id"
        }
    }

    public struct Event: Sendable, Encodable {
        public var taskName: String?
        public var event: String
        public var at: String
        public var detailJSON: String?

        public init(taskName: String? = nil, event: String, at: String, detailJSON: String? = nil) {
            self.taskName = taskName
            self.event = event
            self.at = at
            self.detailJSON = detailJSON
        }

        enum CodingKeys: String, CodingKey {
            case taskName = "task_name"
            case event, at
            case detailJSON = "detail_json"
        }
    }

    public var processID: String
    /// The fencing token of the claim the change was made under.
    public var leaseEpoch: Int64
    public var process: Process?
    public var tasks: [Task]
    public var events: [Event]

    public init(processID: String, leaseEpoch: Int64, process: Process? = nil, tasks: [Task] = [], events: [Event] = [])
    {
        self.processID = processID
        self.leaseEpoch = leaseEpoch
        self.process = process
        self.tasks = tasks
        self.events = events
    }
}

/// What a fenced commit did.
public struct CommitResult: Sendable, Equatable {
    /// Written: this runner still owned them under the given epoch.
    public var committed: [String]
    /// Not written: another runner owns them now, or they were released or taken over. The
    /// runner kills their task groups and drops them (`lease_lost`).
    public var lost: [String]
    /// Owned processes someone asked to cancel from another host.
    public var cancelRequested: [String]

    public init(committed: [String], lost: [String], cancelRequested: [String]) {
        self.committed = committed
        self.lost = lost
        self.cancelRequested = cancelRequested
    }
}
