import GRDB
import SpoolClient

/// One row of `schedule_state`: where one schedule entry stands.
public struct ScheduleStateRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "schedule_state"

    public var processType: String
    /// The entry's name, `""` when unnamed.
    public var entry: String
    /// The newest slot dealt with (submitted, skipped by `overlap: skip`, or passed over by
    /// `catch_up`): the next pass starts after it.
    public var lastSlot: String
    /// The process id of the newest slot actually submitted.
    public var lastProcessID: String?
    /// When that slot was submitted (real time).
    public var lastSubmittedAt: String?
    public var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case processType = "process_type"
        case entry
        case lastSlot = "last_slot"
        case lastProcessID = "last_process_id"
        case lastSubmittedAt = "last_submitted_at"
        case updatedAt = "updated_at"
    }

    public init(
        processType: String, entry: String, lastSlot: String, lastProcessID: String?, lastSubmittedAt: String?,
        updatedAt: String
    ) {
        self.processType = processType
        self.entry = entry
        self.lastSlot = lastSlot
        self.lastProcessID = lastProcessID
        self.lastSubmittedAt = lastSubmittedAt
        self.updatedAt = updatedAt
    }
}
