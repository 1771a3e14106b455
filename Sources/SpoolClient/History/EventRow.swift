import GRDB

/// One row of the append-only `events` table.
public struct EventRow: Sendable, Equatable {
    public var id: Int64
    public var processID: String
    public var taskName: String?
    public var event: String
    public var at: String
    public var detailJSON: String?

    init(row: Row) {
        id = row["id"]
        processID = row["process_id"]
        taskName = row["task_name"]
        event = row["event"]
        at = row["at"]
        detailJSON = row["detail_json"]
    }
}
