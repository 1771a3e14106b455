import Foundation

/// What the `runners` row said about this runner id before a new incarnation registered.
public struct PreviousIncarnation: Sendable, Equatable {
    public var incarnation: Int64
    public var machineID: String
    public var bootID: String
    public var hostname: String
    public var pid: Int32
    public var pidStartTicks: Int64?
    public var state: String
    public var expiresAt: Date
    public var expired: Bool

    /// The same machine since the same boot: its pid means something here.
    public func ranHere(_ identity: RunnerIdentity) -> Bool {
        machineID == identity.machineID && bootID == identity.bootID
    }

    /// It is the very process registering now (same machine, boot, pid and start time).
    public func isSameProcess(as identity: RunnerIdentity) -> Bool {
        ranHere(identity) && pid == identity.pid && pidStartTicks != nil && pidStartTicks == identity.pidStartTicks
    }

    /// It ran here and its process is gone (or the pid now belongs to another process): its
    /// processes can be recovered at once, without waiting for its lease to expire (SPEC §6's
    /// fast path).
    public func isGone(from identity: RunnerIdentity) -> Bool {
        guard ranHere(identity) else { return false }
        if pid == identity.pid && pidStartTicks == identity.pidStartTicks { return false }
        guard let ticks = RunnerIdentity.startTicks(of: pid) else { return true }
        return pidStartTicks != nil && ticks != pidStartTicks
    }
}
