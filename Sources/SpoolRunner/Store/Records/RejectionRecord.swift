import Foundation
import GRDB
import SpoolClient

/// One row of `rejections`: a request file that could not be accepted.
public struct RejectionRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord, TimestampedRecord {
    public static let databaseTableName = "rejections"

    public var id: Int64?
    public var fileName: String
    public var receivedAt: Date
    public var code: FailureCode
    public var message: String

    enum CodingKeys: String, CodingKey {
        case id
        case fileName = "file_name"
        case receivedAt = "received_at"
        case code, message
    }

    public init(fileName: String, receivedAt: Date, code: FailureCode, message: String) {
        self.fileName = fileName
        self.receivedAt = receivedAt
        self.code = code
        self.message = message
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
