import FlyingFox
import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

/// The query string of `GET /api/processes` and of the dashboard's list, read into a
/// `ProcessQuery` with one clear error per bad parameter.
enum ProcessQueryParser {
    /// The statuses a process row can have (`rejected` requests never became processes).
    static let statuses = ["pending", "running", "success", "failed", "cancelled"]
    static let maxLimit = 1000

    static func filter(from query: [HTTPRequest.QueryItem], defaultLimit: Int = 50) throws(APIError) -> ProcessQuery {
        var filter = ProcessQuery(limit: defaultLimit)
        for item in query where !item.value.isEmpty {
            switch item.name {
            case "type": filter.type = item.value
            case "status":
                guard statuses.contains(item.value) else {
                    throw APIError(
                        .invalidQuery, "status must be one of \(statuses.joined(separator: ", ")); got '\(item.value)'")
                }
                filter.status = ProcessStatus(rawValue: item.value)
            case "since": filter.since = try time(item)
            case "until": filter.until = try time(item)
            case "limit":
                guard let limit = Int(item.value), (1...maxLimit).contains(limit) else {
                    throw APIError(
                        .invalidQuery, "limit must be a whole number from 1 to \(maxLimit); got '\(item.value)'")
                }
                filter.limit = limit
            case "offset":
                guard let offset = Int(item.value), offset >= 0 else {
                    throw APIError(.invalidQuery, "offset must be a whole number, 0 or more; got '\(item.value)'")
                }
                filter.offset = offset
            default:
                throw APIError(
                    .invalidQuery, "unknown parameter '\(item.name)'; known: type, status, since, until, limit, offset")
            }
        }
        return filter
    }

    /// ISO 8601 (`2026-07-20T15:00:00Z`, `2026-07-20`) or a duration before now (`2h`, `7d`), as
    /// `spoolrunner history` takes it.
    static func time(_ item: HTTPRequest.QueryItem, now: Date = Date()) throws(APIError) -> Date {
        if let date = Timestamp.parse(item.value) { return date }
        if let duration = DurationParser.parse(item.value) {
            return now.addingTimeInterval(-duration.seconds)
        }
        throw APIError(
            .invalidQuery,
            "\(item.name) must be an ISO 8601 time (2026-07-20T15:00:00Z, 2026-07-20) or a duration before now (2h, 7d); got '\(item.value)'"
        )
    }
}
