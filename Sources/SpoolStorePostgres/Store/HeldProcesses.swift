import Foundation

/// What this runner holds in the store, as its own writes know it: the lease of its current
/// incarnation and the fencing token (lease epoch) of every process it holds.
///
/// Kept by the store, not passed in by the engine, so that `Store.commit(_:)` has the same shape
/// on both backends: the claim, the commit of a new process and the load of the runner's own
/// processes record a token; a final status, a lost process and a release forget it. Every
/// fenced write carries the token recorded here; a process without one is not this runner's.
struct HeldProcesses: Sendable {
    /// The current incarnation's lease; nil before `register`.
    var lease: Lease?
    /// This machine (`/etc/machine-id`), written beside a task's pid: a pid means nothing elsewhere.
    var machineID: String?
    /// process id → lease epoch of the claim it is held under.
    var epochs: [String: Int64] = [:]
    /// Held processes whose request was dropped on another host only (this runner does not
    /// subscribe): their changes are announced to the hosts that do (SPEC §9). A process this
    /// runner subscribes to has its status file written here directly, with no notification.
    var unsubscribed: Set<String> = []
    /// process type → sha256 of the definition new processes of that type are accepted with
    /// (`useDefinitions`).
    var definitions: [String: Data] = [:]
}
