/// What a prune deletes (or, for `--dry-run`, would delete).
public struct PrunePlan: Sendable, Equatable {
    /// Finished processes that ended before the cutoff, oldest first.
    public var processIDs: [String]
    /// Rejections received before the cutoff.
    public var rejections: Int

    public init(processIDs: [String], rejections: Int) {
        self.processIDs = processIDs
        self.rejections = rejections
    }
}
