import Foundation
import SpoolClient

/// What every reader of the history asks: the CLI's read commands, `watch`, the HTTP gateway.
///
/// Domain operations, not SQL: a conformer owns its statements and transactions. Every method
/// may wait for the database (a lock, a network round trip), so every method is `async`; none
/// blocks its caller's thread.
public protocol StoreReader: Sendable {
    /// Where the store is, for messages: a file path, or a URL with its password masked.
    var location: String { get }

    /// One process as it is now: its row and its tasks in status-file order; nil when unknown.
    func snapshot(_ processID: String) async throws(StoreError) -> StoredProcess?

    /// The process's row alone; nil when unknown.
    func process(_ processID: String) async throws(StoreError) -> ProcessRecord?

    /// Processes matching `query`, newest first.
    func processes(_ query: ProcessQuery) async throws(StoreError) -> [ProcessRecord]

    /// Every event of a process with an id above `afterID`, oldest first.
    func events(of processID: String, after afterID: Int64) async throws(StoreError) -> [EventRecord]

    /// Rejected files matching `query`, newest first.
    func rejections(_ query: RejectionQuery) async throws(StoreError) -> [RejectionRecord]

    /// How many processes are in each status.
    func statusCounts() async throws(StoreError) -> [ProcessStatus: Int]

    /// Every schedule entry's stored state, and the status of each entry's last process.
    func scheduleStates() async throws(StoreError) -> ScheduleStates

    /// What `watch` shows: the oldest `unfinishedLimit` unfinished processes, then the
    /// `recentLimit` most recently created ended ones, each with its tasks.
    func overview(unfinishedLimit: Int, recentLimit: Int) async throws(StoreError) -> [StoredProcess]

    /// The metric counters as stored (`spoolrunner_*_total`), to seed the metrics registry at
    /// start: monotonic across restarts, `--once` runs and `prune`.
    func metricCounters() async throws(StoreError) -> [CounterKey: Int64]

    /// The last submitted slot of each scheduled process type.
    func scheduleLastRuns() async throws(StoreError) -> [String: Date]

    /// What `prune` would delete: finished processes that ended before `cutoff`, and the number
    /// of rejections received before it.
    func prunePlan(before cutoff: Date) async throws(StoreError) -> PrunePlan
}

/// The runner's store: everything `StoreReader` answers, plus every write of the program.
///
/// The runner is the only writer of its store. Each write is one transaction and is durable
/// when the method returns: the engine takes an irreversible step (a request leaving `inbox/`,
/// a spawn) only after that.
public protocol Store: StoreReader {
    /// Records that this store belongs to the spool `identity` at `path`, or checks that it does.
    /// - Throws: `StoreError` with code `.foreignSpool` when it belongs to another spool.
    func bind(toSpool identity: String, path: String) async throws(StoreError)

    /// Records the start of a runner session.
    /// - Returns: the new session's id and the previous session (whose `cleanExit` tells
    ///   whether the last runner crashed).
    func beginSession(_ session: RunnerSessionRecord) async throws(StoreError) -> SessionStart

    /// A clean stop: the session is marked clean, and no crash counts against the processes
    /// still unfinished.
    func endSession(_ sessionID: Int64, at time: Date) async throws(StoreError)

    /// Every unfinished (pending or running) process with its tasks, in acceptance order: what a
    /// runner resumes at start (SPEC §6).
    func unfinishedProcesses() async throws(StoreError) -> [StoredProcess]

    /// The request bytes each of `processIDs` was accepted with (the duplicate rule of SPEC §3);
    /// an id no process has is absent.
    func requestJSONs(of processIDs: [String]) async throws(StoreError) -> [String: String]

    /// Which of `processIDs` the store has (`serve --prune-after`: a host's files of a process
    /// the store no longer has are removed).
    func existingProcessIDs(among processIDs: [String]) async throws(StoreError) -> Set<String>

    /// Writes one batch of changes in one transaction.
    /// - Returns: the processes of the batch the runner lost (not written) and those another host
    ///   asked to cancel; always empty for a store of one runner (SQLite). Not discardable: a
    ///   caller of a shared store must not write on for a process it lost.
    func commit(_ batch: StoreBatch) async throws(StoreError) -> CommitOutcome

    /// Saves a schedule entry's state with the events of the slots it skipped.
    func saveScheduleState(_ state: ScheduleStateRecord, events: [EventRecord]) async throws(StoreError)

    /// An unfinished process of `processType` whose id matches `idPattern` (a GLOB of one
    /// schedule entry's slot ids), if any.
    func unfinishedProcess(ofType processType: String, idMatching idPattern: String) async throws(StoreError)
        -> String?

    /// The processes whose status file may be stale: those with an event after `eventID`, and
    /// the newest event id.
    func changedProcesses(afterEvent eventID: Int64) async throws(StoreError) -> (
        stamps: [ProcessStamp], lastEventID: Int64
    )

    /// The newest event id.
    func lastEventID() async throws(StoreError) -> Int64

    /// Up to `limit` processes after `cursor`, in store order (empty at the end of a sweep).
    func processStamps(after cursor: Int64, limit: Int) async throws(StoreError) -> [ProcessStamp]

    /// The processes of `processIDs` as the store has them now, read in one transaction (a
    /// process that is gone, pruned, has none).
    func snapshots(_ processIDs: [String]) async throws(StoreError) -> [String: StoredProcess]

    /// Deletes the finished processes that ended before `cutoff` (rows of every table), except
    /// those in `live` (the runner holds them again: a retry redrove one), and the rejections
    /// received before it, in one transaction. Unfinished processes are never touched.
    func prune(before cutoff: Date, keeping live: Set<String>) async throws(StoreError) -> PruneResult

    /// How long a write waits for another connection's lock before it fails as `.busy`; nil
    /// restores the store's default.
    func setBusyTimeout(_ seconds: Double?) async

    /// Keeps the store's journal bounded (a passive WAL checkpoint for SQLite).
    func checkpoint() async
}
