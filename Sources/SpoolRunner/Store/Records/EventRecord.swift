import Foundation
import GRDB
import ProcessDefinitions
import SpoolClient

/// One row of `events`: one state change, append-only.
public struct EventRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord, TimestampedRecord {
    public static let databaseTableName = "events"

    public var id: Int64?
    public var processID: String
    public var taskName: String?
    /// What happened (`EventKind` lists them all).
    public var event: EventKind
    public var at: Date
    public var detail: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case id
        case processID = "process_id"
        case taskName = "task_name"
        case event, at
        case detail = "detail_json"
    }

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let processID = Column(CodingKeys.processID)
    }

    public init(
        processID: String, taskName: String? = nil, event: EventKind, at: Date, detail: [String: JSONValue]? = nil
    ) {
        self.processID = processID
        self.taskName = taskName
        self.event = event
        self.at = at
        self.detail = detail
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
