import GRDB

/// One row of `processes` as a client sees it (SPEC §7 columns only; JSON columns as text).
public struct ProcessRow: Sendable, Equatable {
    public var processID: String
    public var processType: String
    public var status: String
    public var inputsJSON: String
    public var createdAt: String
    public var startedAt: String?
    public var endedAt: String?
    public var errorJSON: String?

    static let columns = "process_id, process_type, status, inputs_json, created_at, started_at, ended_at, error_json"

    init(row: Row) {
        processID = row["process_id"]
        processType = row["process_type"]
        status = row["status"]
        inputsJSON = row["inputs_json"]
        createdAt = row["created_at"]
        startedAt = row["started_at"]
        endedAt = row["ended_at"]
        errorJSON = row["error_json"]
    }
}
