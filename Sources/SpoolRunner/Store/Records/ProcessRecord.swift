import Foundation
import GRDB
import ProcessDefinitions
import SpoolClient

/// One row of `processes`: a process's current state and its request, verbatim.
public struct ProcessRecord: Codable, Sendable, FetchableRecord, PersistableRecord, TimestampedRecord {
    public static let databaseTableName = "processes"

    public var processID: String
    public var processType: String
    public var status: ProcessStatus
    public var inputs: [String: JSONValue]
    /// The request file's bytes as they were dropped: the idempotency check compares against it.
    public var requestJSON: String
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var updatedAt: Date
    public var error: FailureInfo?
    /// How many runner crashes in a row found this process with a task running (§6 crash loop).
    public var crashCount: Int

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case processType = "process_type"
        case status
        case inputs = "inputs_json"
        case requestJSON = "request_json"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case updatedAt = "updated_at"
        case error = "error_json"
        case crashCount = "crash_count"
    }

    public enum Columns {
        public static let processID = Column(CodingKeys.processID)
        public static let processType = Column(CodingKeys.processType)
        public static let status = Column(CodingKeys.status)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let endedAt = Column(CodingKeys.endedAt)
        public static let updatedAt = Column(CodingKeys.updatedAt)
    }

    /// The columns that change after a process is accepted.
    public static let mutableColumns: [String] = [
        CodingKeys.status, .startedAt, .endedAt, .updatedAt, .error, .crashCount,
    ].map(\.rawValue)

    public init(
        processID: String, processType: String, status: ProcessStatus, inputs: [String: JSONValue],
        requestJSON: String, createdAt: Date, updatedAt: Date
    ) {
        self.processID = processID
        self.processType = processType
        self.status = status
        self.inputs = inputs
        self.requestJSON = requestJSON
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.crashCount = 0
    }
}
