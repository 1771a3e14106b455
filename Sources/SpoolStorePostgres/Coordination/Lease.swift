import Foundation

/// A runner's hold on the store: valid while the database's `expires_at` is in the future.
///
/// The runner also keeps its own deadline, on the continuous clock (CLOCK_BOOTTIME on Linux, so
/// time spent suspended counts): the send time of its last successful renewal + duration −
/// margin, with margin = duration / 3. It stops and kills its tasks at that deadline, before the
/// database's expiry, so that nothing of it still runs when another runner may take over.
public struct Lease: Sendable, Equatable {
    public var runnerID: String
    public var incarnation: Int64
    public var duration: Duration
    /// The database's expiry (its clock).
    public var expiresAt: Date
    /// When the renewal that set `expiresAt` was sent (this host's continuous clock).
    public var renewedAt: ContinuousClock.Instant

    /// The shortest lease `--lease` accepts.
    public static let minimumDuration: Duration = .seconds(1)

    public var margin: Duration { duration / 3 }
    /// Past this instant the runner must act as if the lease were lost.
    public var deadline: ContinuousClock.Instant { renewedAt + duration - margin }
    /// How often to renew: five times per lease.
    public var renewalInterval: Duration { duration / 5 }

    var seconds: Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) / 1e18
    }
}
