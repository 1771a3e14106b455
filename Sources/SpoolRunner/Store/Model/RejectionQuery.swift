import Foundation

/// The `rejections` filters (SPEC §8).
public struct RejectionQuery: Sendable, Equatable {
    /// Only this error code (the text of a `RequestRejection.Code`).
    public var code: String?
    /// Received at or after this time.
    public var since: Date?
    public var limit: Int

    public init(code: String? = nil, since: Date? = nil, limit: Int = 50) {
        self.code = code
        self.since = since
        self.limit = limit
    }
}
