/// The coordination of a store with one runner (SPEC §9 keeps SQLite exactly as it was): the
/// runner holds `runner.lock` for its whole life, so it holds every process and leads; nobody
/// else writes, so nothing changes behind its back.
extension SQLiteStore: StoreCoordination {
    public var sharesWork: Bool { false }

    /// The live processes keep their definitions in the runner's memory.
    @discardableResult
    public func useDefinitions(_ yaml: [String: String]) async throws(StoreError) -> [String: String] { [:] }

    /// Every unfinished process: this runner holds them all (SPEC §6 resumes them at start).
    public func claim(limit: Int, concurrency: [String: Int]) async throws(StoreError) -> [ClaimedWork] {
        try await unfinishedProcesses().map { ClaimedWork(process: $0) }
    }

    /// The `runner.lock` flock is the lease: held until the runner process ends.
    public func keepLease(
        runningTasks: @escaping @Sendable () async -> Int, renewed: @escaping @Sendable (LeaseState) async -> Void
    ) async -> LeaseEnd {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        return .cancelled
    }

    /// The flock cannot be lost while the process lives: there is never a new incarnation.
    public func renewIncarnation() async throws(StoreError) -> LeaseState {
        LeaseState(runnerID: "", expiresAt: nil)
    }

    /// The only runner leads.
    public func leadership() -> AsyncStream<Bool> {
        AsyncStream { continuation in
            continuation.yield(true)
            continuation.finish()
        }
    }

    /// Every change is this runner's own, seen in-process.
    public func changes() -> AsyncStream<StoreChange> {
        AsyncStream { $0.finish() }
    }

    /// The process as stored: the only runner holds everything.
    public func claim(_ processID: String) async throws(StoreError) -> ClaimedWork? {
        try await snapshot(processID).map { ClaimedWork(process: $0) }
    }

    /// The runner holds every live process and cancels it itself.
    public func requestCancel(_ processID: String) async throws(StoreError) {}

    /// The only runner writes every status file.
    public func subscribe(to processIDs: [String]) async throws(StoreError) {}

    /// Unfinished processes stay this spool's; the next start resumes them.
    public func release(_ processIDs: [String]) async throws(StoreError) {}

    /// The session's end (`endSession`) records the clean stop.
    public func leave() async throws(StoreError) {}

    /// No other runner can die holding this store's work.
    public func reapExpiredRunners() async throws(StoreError) -> [String] { [] }
}
