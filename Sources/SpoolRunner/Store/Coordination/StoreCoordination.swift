import ProcessDefinitions

/// How the runners sharing a store divide the work between them (SPEC §9): which runner holds
/// which process, for how long, who leads, and what changed elsewhere.
///
/// Domain operations, not SQL, like `Store`. Two conformers: `SQLiteStore`, whose store has one
/// runner (the lease is the `runner.lock` flock, a claim hands out every unfinished process,
/// leadership is always this runner's, and nothing changes behind its back), and the
/// PostgreSQL store of a fleet (claims with `SKIP LOCKED`, leases renewed in the database,
/// an advisory-lock leader, LISTEN/NOTIFY).
public protocol StoreCoordination: Sendable {
    /// Whether other runners add and take work in this store: the engine then claims when a
    /// task slot frees, on a work notification and on a poll, and fences on its lease. False
    /// for SQLite, where the engine claims once, at start.
    var sharesWork: Bool { get }

    /// Records the definitions new processes are accepted with (process type → the definition
    /// file's text), before a process of a new or changed type is committed: the runner that
    /// executes a process parses the definition it was accepted with. Returns process type →
    /// sha256 (hex). SQLite: nothing to record (its one runner keeps its live processes'
    /// definitions in memory).
    @discardableResult
    func useDefinitions(_ yaml: [String: String]) async throws(StoreError) -> [String: String]

    /// Takes up to `limit` unfinished processes that no runner holds, oldest first, each with
    /// the definition it was accepted with when the store keeps it. `concurrency` holds the
    /// definitions' limits (process type → most running at once), which are global across the
    /// runners of a shared store.
    ///
    /// SQLite: every unfinished process, whatever `limit` (one runner holds them all).
    func claim(limit: Int, concurrency: [String: Int]) async throws(StoreError) -> [ClaimedWork]

    /// Keeps this runner's lease alive until the calling task is cancelled (`.cancelled`) or the
    /// lease ends (`.lost`, `.deadlinePassed`): the runner must then fence itself at once (stop
    /// claiming, kill its tasks, drop its processes). `renewed` is called after each renewal.
    ///
    /// SQLite: the lease is the `runner.lock` flock, held for the life of the runner process;
    /// this waits until cancelled.
    func keepLease(
        runningTasks: @escaping @Sendable () async -> Int, renewed: @escaping @Sendable (LeaseState) async -> Void
    ) async -> LeaseEnd

    /// Registers a new incarnation of this runner after its lease ended (`keepLease` returned
    /// `.lost` or `.deadlinePassed`), so that it can claim again.
    func renewIncarnation() async throws(StoreError) -> LeaseState

    /// Whether this runner leads the fleet (runs the schedules and the reaper), as it changes;
    /// the sequence ends when the calling task is cancelled. SQLite: `true`, once.
    func leadership() -> AsyncStream<Bool>

    /// What changed elsewhere that this runner must act on: work to claim, cancels of processes
    /// it holds, status files it must rewrite. Only a hint: every path also works by polling.
    /// SQLite: nothing ever changes behind the runner's back; the sequence ends at once.
    func changes() -> AsyncStream<StoreChange>

    /// Takes one process that no runner holds, whatever its status, for a control message
    /// dropped on this host (cancel of a process waiting for a claim, retry of a failed one):
    /// nil when another runner holds it. SQLite: the process as stored (one runner holds all).
    func claim(_ processID: String) async throws(StoreError) -> ClaimedWork?

    /// Asks the runner that holds `processID` to cancel it (a control message dropped on another
    /// host): the request is recorded in the store, seen by the holder's next commit at the
    /// latest, and announced to it at once. SQLite: never needed (its one runner holds all).
    func requestCancel(_ processID: String) async throws(StoreError)

    /// Subscribes this runner to the status of `processIDs` (the same request dropped on this
    /// host too: SPEC §9 makes the duplicate rule global, and each host where it was dropped
    /// writes its status file). SQLite: the runner writes every status file already.
    func subscribe(to processIDs: [String]) async throws(StoreError)

    /// Gives up the processes of `processIDs` this runner holds (accepted here beyond its free
    /// slots): unowned at once, fenced off from this runner's later writes, and announced to
    /// the others. SQLite: nothing to do.
    func release(_ processIDs: [String]) async throws(StoreError)

    /// The end of a graceful stop, after the last commit: gives up every process this runner
    /// still holds, the same way as `release`, so that another runner continues them without
    /// waiting for a lease to expire, and marks the runner stopped. SQLite: nothing to do (the
    /// next start on the spool resumes them).
    func leave() async throws(StoreError)

    /// The leader's reaper: takes the processes of runners whose lease expired away from them
    /// with the recovery rule of SPEC §6, for others to claim. Returns the processes taken.
    /// SQLite: there is no other runner; nothing.
    func reapExpiredRunners() async throws(StoreError) -> [String]
}

/// A process a runner now holds, as a claim returned it.
public struct ClaimedWork: Sendable {
    public var process: StoredProcess
    /// The definition the process was accepted with, when the store keeps it (PostgreSQL: the
    /// stored YAML, named `store:<type>@<sha8>` in errors); nil: the runner's own definition of
    /// its type.
    public var definition: ProcessDefinition?
    /// Whether this runner's previous incarnation held it and died with tasks running: its
    /// interrupted tasks count as a crash (SPEC §6), and leftovers of them on this machine are
    /// killed before anything reruns.
    public var fromDeadIncarnation: Bool
    /// Whether the request was dropped on this runner's host (it subscribes to the process):
    /// only then does it write the status file (SPEC §9).
    public var subscribed: Bool

    public init(
        process: StoredProcess, definition: ProcessDefinition? = nil, fromDeadIncarnation: Bool = false,
        subscribed: Bool = true
    ) {
        self.process = process
        self.definition = definition
        self.fromDeadIncarnation = fromDeadIncarnation
        self.subscribed = subscribed
    }
}
