import Foundation
import GRDB
import SpoolClient

/// One row of `runner_sessions`: one run of `serve`. A session without `clean_exit` ended in a
/// crash, which is how the next runner knows to count crash loops and rewrite status files.
public struct RunnerSessionRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord, TimestampedRecord {
    public static let databaseTableName = "runner_sessions"

    public var id: Int64?
    public var pid: Int
    public var version: String
    public var startedAt: Date
    public var endedAt: Date?
    public var cleanExit: Bool

    enum CodingKeys: String, CodingKey {
        case id, pid, version
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case cleanExit = "clean_exit"
    }

    public init(pid: Int, version: String, startedAt: Date) {
        self.pid = pid
        self.version = version
        self.startedAt = startedAt
        self.cleanExit = false
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
