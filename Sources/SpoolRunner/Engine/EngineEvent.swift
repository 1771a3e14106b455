import Foundation
import ProcessDefinitions

/// Something the engine must react to. Everything that changes engine state arrives as one of
/// these, through one queue, so the engine handles one batch at a time and never races itself.
enum EngineEvent: Sendable {
    /// Look at `inbox/` and `control/` (a timer, inotify, or the start).
    case scan
    case taskSpawned(processID: String, index: Int, attempt: Int, pid: Int32, startTicks: Int64?)
    case taskEnded(processID: String, index: Int, attempt: Int, outcome: TaskOutcome)
    /// The backoff of task `index` is over (a monotonic timer): its next attempt is due.
    case retryDue(processID: String, index: Int)
    /// The process's `timeout` is over, for its start number `generation` (a `retry` starts it
    /// again, and makes the timers of the earlier start stale).
    case processTimeout(processID: String, generation: Int)
    case heartbeat
    /// An error outside the engine (the schedule loop), for runner.json's `last_error`.
    case errorReported(String, Date)
    /// SIGHUP: read the definitions directory again.
    case reloadDefinitions
    /// A reload finished off the engine: the fresh catalog, or nil when it overran its time
    /// bound (the engine keeps what it has).
    case definitionsLoaded(DefinitionCatalog?)
    /// SIGTERM/SIGINT: stop taking requests, let running tasks finish.
    case shutdown
    /// The shutdown grace is over: stop what still runs.
    case graceExpired
    /// The backoff after a failed commit is over: try the store again.
    case retryCommit
    /// A pause (busy or full store, full disk) began or ended.
    case pauseChanged
    /// Time to check whether the disk has room again (for conditions no write retries by itself).
    case probe
    /// The store writer finished the batch in flight (`CommitInFlight`): durable, or why not.
    case committed(Result<CommitOutcome, StoreError>)
    /// `--prune-after` on a store of one runner: prune what ended before this instant, in the
    /// loop (the same path as a `prune` control message).
    case pruneDue(before: Date)
    /// Lease, claims and leadership when runners share the store (SPEC §9).
    case fleet(FleetEvent)
}
