/// What a prune deleted from the store; the caller removes the files that go with it.
public struct PruneResult: Sendable, Equatable {
    /// The processes deleted, every row of them.
    public var processIDs: [String]
    /// How many rejection rows were deleted.
    public var rejections: Int

    public init(processIDs: [String], rejections: Int) {
        self.processIDs = processIDs
        self.rejections = rejections
    }
}
