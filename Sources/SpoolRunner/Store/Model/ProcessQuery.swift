import SpoolClient

/// The `history` filters (SPEC §8), shared by the CLI and the HTTP gateway.
public struct ProcessQuery: Sendable, Equatable {
    public var type: String?
    public var status: ProcessStatus?
    /// Created at or after this stamp (the store's fixed-width format, so text order is time order).
    public var since: String?
    /// Created before this stamp.
    public var until: String?
    public var limit: Int
    public var offset: Int

    public init(
        type: String? = nil, status: ProcessStatus? = nil, since: String? = nil, until: String? = nil,
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
