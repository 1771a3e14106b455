import Foundation
import GRDB
import SpoolClient

/// A record whose `Date` columns hold the spool's one text format (`Timestamp`:
/// `2026-07-20T15:00:00.123Z`), as status files and logs do.
///
/// Dates are `Date` in memory and in the state machine; only here do they become text. The
/// fixed width keeps text order equal to time order, which the `ended_at < ?` filters of
/// `history` and `prune` rely on.
public protocol TimestampedRecord: FetchableRecord, EncodableRecord {}

extension TimestampedRecord {
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .custom { Timestamp.string($0) }
    }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .custom { String.fromDatabaseValue($0).flatMap(Timestamp.parse) }
    }
}
