import Foundation

/// A runner's lease as its last renewal left it.
public struct LeaseState: Sendable, Equatable {
    /// The runner's id in the store (`--runner-id`).
    public var runnerID: String
    /// The store's expiry of the lease (the database clock); nil for a lease without end (the
    /// SQLite store's `runner.lock` flock).
    public var expiresAt: Date?

    public init(runnerID: String, expiresAt: Date?) {
        self.runnerID = runnerID
        self.expiresAt = expiresAt
    }
}

/// Why `StoreCoordination.keepLease` returned.
public enum LeaseEnd: Sendable, Equatable {
    /// A renewal found the lease over: it expired, or another runner took it.
    case lost
    /// The self-fencing deadline passed without a successful renewal (the store unreachable).
    case deadlinePassed
    /// The calling task was cancelled: a graceful stop.
    case cancelled
}
