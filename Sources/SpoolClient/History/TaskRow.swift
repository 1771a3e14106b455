import GRDB

/// One row of `tasks` as a client sees it, in definition order (`on_failure` tasks last).
public struct TaskRow: Sendable, Equatable {
    public var taskName: String
    public var mode: String
    public var status: String
    public var attempts: Int
    public var startedAt: String?
    public var endedAt: String?
    public var exitCode: Int?
    public var outputJSON: String?
    public var errorJSON: String?
    public var onFailure: Bool

    init(row: Row) {
        taskName = row["task_name"]
        mode = row["mode"]
        status = row["status"]
        attempts = row["attempts"]
        startedAt = row["started_at"]
        endedAt = row["ended_at"]
        exitCode = row["exit_code"]
        outputJSON = row["output_json"]
        errorJSON = row["error_json"]
        onFailure = row["on_failure"]
    }
}
