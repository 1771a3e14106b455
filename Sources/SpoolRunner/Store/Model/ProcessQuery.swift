import Foundation
import SpoolClient

/// The `history` filters (SPEC §8), shared by the CLI and the HTTP gateway.
public struct ProcessQuery: Sendable, Equatable {
    public var type: String?
    public var status: ProcessStatus?
    /// Created at or after this time.
    public var since: Date?
    /// Created before this time.
    public var until: Date?
    public var limit: Int
    public var offset: Int

    public init(
        type: String? = nil, status: ProcessStatus? = nil, since: Date? = nil, until: Date? = nil,
        limit: Int = 50, offset: Int = 0
    ) {
        self.type = type
        self.status = status
        self.since = since
        self.until = until
        self.limit = limit
        self.offset = offset
    }
}
