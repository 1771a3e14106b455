import Foundation
import SpoolClient
import SpoolRunner

/// A rejection as `jsonb_to_recordset` reads it: the columns of `rejections` by name, the time as
/// the store's timestamp text. Used by the runner's batch commit and by `store copy`.
struct RejectionRow: Encodable {
    var fileName: String
    var receivedAt: String
    var code: String
    var message: String

    init(_ record: RejectionRecord) {
        fileName = record.fileName
        receivedAt = Timestamp.string(record.receivedAt)
        code = record.code.rawValue
        message = record.message
    }

    enum CodingKeys: String, CodingKey {
        case fileName = "file_name"
        case receivedAt = "received_at"
        case code, message
    }
}
