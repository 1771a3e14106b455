/// What a commit tells its runner besides "durable": the processes of the batch it did not
/// write because the runner no longer holds them, and the ones another host asked to cancel.
///
/// A store shared by several runners (PostgreSQL) fences every commit: a process whose lease
/// was lost (taken over, released, or the runner's incarnation ended) is not written, and the
/// runner kills its tasks and drops it (`lease_lost`). A cancel requested on another host
/// reaches the owner here at the latest, should its notification be lost. SQLite's store has
/// one runner and no other host, so its outcome is always empty.
public struct CommitOutcome: Sendable, Equatable {
    /// Processes of the batch whose changes were not written: another runner holds them now.
    public var lost: Set<String>
    /// Processes of the batch, written, that a host other than their owner asked to cancel.
    public var cancelRequested: Set<String>

    public init(lost: Set<String> = [], cancelRequested: Set<String> = []) {
        self.lost = lost
        self.cancelRequested = cancelRequested
    }

    /// Everything written, nothing asked: SQLite's only outcome.
    public static let empty = CommitOutcome()

    public var isEmpty: Bool { lost.isEmpty && cancelRequested.isEmpty }
}
