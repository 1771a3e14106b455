import Foundation

/// The engine's standing among the runners of a shared store (SPEC §9).
struct FleetState {
    /// The lease as the last renewal left it; nil before the first one and while fenced.
    var lease: LeaseState?
    /// Whether this runner leads (schedules, reaper).
    var leader = false
    /// The lease ended: nothing is claimed or committed until a new incarnation is registered.
    var fenced = false
    /// Something says there may be work to claim (a poll, a notification, a free slot).
    var claimWanted = false
    /// A cooldown timer is armed to claim later.
    var claimTimerArmed = false
    /// When the last claim was sent (the cooldown counts from there).
    var lastClaim: ContinuousClock.Instant?
    /// The last claim took all it asked for: more work is waiting, so the next claim does not
    /// wait for the cooldown (see `claimWork`).
    var backlog = false
    /// New processes accepted here beyond this runner's free slots: handed to the fleet right
    /// after their commit (claim on intake only takes what can start now).
    var releaseAfterCommit: Set<String> = []
    /// Cancels from another host already applied: the store keeps the flag until the process ends.
    var cancelsApplied: Set<String> = []
}

/// What the fleet side of the runner tells the engine loop.
enum FleetEvent: Sendable {
    /// Poll: look for work.
    case claimDue
    case leaseRenewed(LeaseState)
    /// The lease is over: fence now.
    case leaseEnded(LeaseEnd)
    /// A new incarnation is registered after a fence: claim again.
    case reincarnated(LeaseState)
    case leadership(Bool)
    case storeChanged(StoreChange)
    /// The leader's reaper handed processes of dead runners to the fleet.
    case reaped([String])
}
