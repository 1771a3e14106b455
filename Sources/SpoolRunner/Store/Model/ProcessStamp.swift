/// One process as the store has it, just enough to tell whether its status file is current.
public struct ProcessStamp: Sendable, Equatable {
    /// The process's place in the store's order (SQLite's rowid): the cursor of a sweep.
    public var cursor: Int64
    public var processID: String
    public var updatedAt: String

    public init(cursor: Int64, processID: String, updatedAt: String) {
        self.cursor = cursor
        self.processID = processID
        self.updatedAt = updatedAt
    }
}
