import Foundation
import ProcessDefinitions
import Synchronization

/// What the fleet side of a runner's `PostgresStore` remembers besides what its writes hold
/// (`HeldProcesses`): who it registered as, to register again after a fence; whether the next
/// claim takes back what its runner id still owns; the definitions read back from the store.
public final class FleetMembership: Sendable {
    struct State {
        var identity: RunnerIdentity?
        /// `--lease`, kept for registering again after a fence.
        var leaseDuration: Duration = .seconds(15)
        /// The processes a previous incarnation of this runner id still owns are taken back
        /// (`unfinishedProcesses`) by the next claim after each registration.
        var adoptPending = false
        /// Whether that incarnation died (a crash: its interrupted tasks count as one), rather
        /// than being fenced by this very process, which stopped its tasks itself.
        var adoptFromDeadIncarnation = false
        /// Whether this runner LISTENs for work and cancel notifications (`--notify`); without,
        /// it finds work by polling only.
        var listens = true
        /// Definitions read back from the store, by sha256.
        var definitions: [Data: ProcessDefinition] = [:]
    }

    let state = Mutex(State())

    public init() {}

    /// `--notify off`: no LISTEN connection; work and cancels are found by polling and commits.
    public func setListens(_ listens: Bool) {
        state.withLock { $0.listens = listens }
    }
}
