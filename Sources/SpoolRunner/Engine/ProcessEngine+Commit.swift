import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

extension ProcessEngine {
    /// The busy timeout of the retries while the store is busy: the loop stays responsive.
    static let busyRetryTimeout: Double = 1

    /// Whether changes wait for a commit that failed on a busy or full store.
    var hasUncommitted: Bool { pause.isActive(.store) }

    /// Whether anything waits for a commit: one in flight, or changes, rejections, file
    /// removals or spawns not yet handed to the store writer.
    var hasPendingCommitWork: Bool {
        commitInFlight != nil || !uncommittedIDs.isEmpty || !pendingRejections.isEmpty || !filesToRemove.isEmpty
            || !launches.isEmpty
    }

    /// Queues `path` (an accepted request, a handled control message) for removal once the
    /// batch that records it is durable; scans skip it meanwhile.
    /// `processID` is the process whose change must be durable first (the one accepted, or the
    /// one a control message changed): with `--commit-batch`, the file waits for that
    /// process's batch.
    func removeAfterCommit(_ path: String, for processID: String?) {
        filesToRemove.append(path)
        removalPending.insert(path)
        if let processID { removalOwners[path] = processID }
    }

    /// Takes every change since the last hand-over (and what waits for it) as the next batch
    /// for the store writer, unless a commit is in flight or the store is being waited out.
    ///
    /// The processes' dirty marks move into the batch: what changes from now on goes into the
    /// batch after it. Their status documents are built here, as the batch records them.
    /// - Returns: the batch, now `commitInFlight`; nil when there is nothing to hand over or a
    ///   commit must not start now.
    func takeBatch() -> CommitInFlight? {
        guard commitInFlight == nil else { return nil }
        if pause.isActive(.store), !commitRetryDue { return nil }
        let taken = processesForNextBatch()
        var changes: [StoreBatch.Change] = []
        var taskIndexes: [String: [Int]] = [:]
        var documents: [StatusDocument] = []
        changes.reserveCapacity(taken.count)
        documents.reserveCapacity(taken.count)
        for processID in taken {
            guard var run = processes[processID], run.isDirty else { continue }
            if run.dirtyProcess { run.stampForHandOver() }
            let indexes = run.dirtyTasks.sorted()
            changes.append(
                .init(
                    record: run.record, isNew: run.isNew, processChanged: run.dirtyProcess,
                    tasks: indexes.map { run.tasks[$0] }, events: run.newEvents))
            taskIndexes[processID] = indexes
            // In a fleet, only the hosts where the request was dropped write its status file.
            if run.writesStatus { documents.append(StatusDocument(process: run.record, tasks: run.tasks)) }
            run.isNew = false
            run.dirtyProcess = false
            run.dirtyTasks.removeAll()
            run.newEvents.removeAll()
            processes[processID] = run
        }
        uncommittedIDs.subtract(taken)
        // What waits for a process left for a later batch (its request file, a control
        // message about it, its spawns) waits with it; everything else goes with this one.
        let left = uncommittedIDs
        var removals = filesToRemove
        var spawns = launches
        if !left.isEmpty {
            // A file waits when the process it belongs to waits; those stay in `filesToRemove`.
            let owners = removalOwners
            let waits = { (path: String) in owners[path].map { left.contains($0) } ?? false }
            removals = filesToRemove.filter { !waits($0) }
            filesToRemove.removeAll { !waits($0) }
            spawns = launches.filter { !left.contains($0.key.processID) }
            launches.removeAll { !left.contains($0.key.processID) }
        } else {
            filesToRemove.removeAll()
            launches.removeAll()
        }
        guard !changes.isEmpty || !pendingRejections.isEmpty || !removals.isEmpty || !spawns.isEmpty else {
            return nil
        }
        let commit = CommitInFlight(
            batch: StoreBatch(changes: changes, rejections: pendingRejections), taskIndexes: taskIndexes,
            filesToRemove: removals, launches: spawns, documents: documents)
        pendingRejections.removeAll()
        commitInFlight = commit
        return commit
    }

    /// The changed processes the next batch carries: all of them, or the `--commit-batch`
    /// oldest (by intake order) when more changed; the others stay uncommitted for the batch
    /// after, which starts as soon as this one is durable.
    private func processesForNextBatch() -> [String] {
        let limit = configuration.commitBatch
        guard uncommittedIDs.count > limit else { return Array(uncommittedIDs) }
        let oldest = uncommittedIDs.sorted { (processes[$0]?.sequence ?? -1) < (processes[$1]?.sequence ?? -1) }
        return Array(oldest.prefix(limit))
    }

    /// What the store writer said about `commitInFlight`: on success, does everything that had
    /// to wait for it; on a busy or full store, puts the batch back as uncommitted and pauses.
    ///
    /// A busy or full store is waited out: nothing of the batch is lost (its changes are
    /// committed with the next batch), nothing that needs the commit happens (request files stay
    /// in inbox/, tasks are not spawned, status files keep their last committed state), the
    /// runner pauses intake and task starts, and the next try comes after a backoff.
    /// - Returns: the launches to spawn now.
    /// - Throws: `StoreError` for a failure that is not transient (a corrupt store).
    func commitFinished(_ result: Result<CommitOutcome, StoreError>) async throws -> [CommitInFlight.Launch] {
        guard let commit = commitInFlight else { return [] }
        commitInFlight = nil
        switch result {
        case .success(let outcome):
            return await completed(commit, outcome)
        case .failure(let error):
            guard let reason = PauseReason(storeError: error) else { throw error }
            restore(commit)
            if reason == .storeBusy, !pause.isActive(.store) { await store.setBusyTimeout(Self.busyRetryTimeout) }
            pause.raise(.store, reason, path: error.location, message: error.message)
            commitRetryDue = false
            timersToArm.append((.seconds(commitBackoff.next()), .retryCommit))
            return []
        }
    }

    /// The side effects of a durable batch, in the order SPEC §6 needs: files leave the client
    /// directories, status files and logs follow, then tasks whose start it records spawn.
    private func completed(_ commit: CommitInFlight, _ outcome: CommitOutcome) async -> [CommitInFlight.Launch] {
        var commit = commit
        committed(commit.batch)
        // A shared store fenced off what another runner holds now: nothing more of it may
        // happen here (no spawn, no status file, its request file judged again).
        if !outcome.lost.isEmpty {
            lost(outcome.lost)
            let lostFiles = Set(outcome.lost.map { "\(layout.inbox)/\($0).json" })
            commit.filesToRemove.removeAll { lostFiles.contains($0) }
            removalPending.subtract(lostFiles)
            for path in lostFiles { removalOwners.removeValue(forKey: path) }
            commit.documents.removeAll { outcome.lost.contains($0.processID) }
            // Never spawned, so no end will come for them: their slots free now (a `running`
            // entry left behind kept a slot taken for good and hung the next graceful stop).
            for launch in commit.launches where outcome.lost.contains(launch.key.processID) {
                running.removeValue(forKey: launch.key)
                liveAttempts.remove(launch.handle)
                fleet.claimWanted = true
            }
            commit.launches.removeAll { outcome.lost.contains($0.key.processID) }
        }
        if !outcome.cancelRequested.isEmpty { applyRemoteCancels(outcome.cancelRequested.sorted(), now: Date()) }
        if pause.isActive(.store) {
            commitBackoff.reset()
            pause.clear(.store)
            await store.setBusyTimeout(nil)
        }
        for path in commit.filesToRemove {
            CrashPoint.step("unlink")
            unlink(path)
            removalPending.remove(path)
            removalOwners.removeValue(forKey: path)
        }
        for change in commit.batch.changes {
            for event in change.events { log(event, processType: change.record.processType) }
        }
        for document in commit.documents { statusPublisher.publish(document) }
        for change in commit.batch.changes where change.record.status.isFinal {
            let processID = change.record.processID
            // Ended, and nothing newer waits for a commit: the history has it all now.
            guard let run = processes[processID], run.record.status.isFinal, !run.isDirty else { continue }
            processes.removeValue(forKey: processID)
        }
        if intakeHeldAtCap, processes.count < configuration.maxLiveProcesses {
            intakeHeldAtCap = false
            scanWanted = true
        }
        if deferredUntilCommit {
            // A control message about a process whose end this commit recorded waited for it.
            deferredUntilCommit = false
            scanWanted = true
        }
        if coordination.sharesWork { await releaseExcess() }
        return commit.launches
    }

    /// Puts a batch whose commit failed back as uncommitted, ahead of what changed since.
    private func restore(_ commit: CommitInFlight) {
        for change in commit.batch.changes {
            let processID = change.record.processID
            guard var run = processes[processID] else { continue }
            run.isNew = run.isNew || change.isNew
            run.dirtyProcess = run.dirtyProcess || change.processChanged
            run.dirtyTasks.formUnion(commit.taskIndexes[processID] ?? [])
            run.newEvents = change.events + run.newEvents
            processes[processID] = run
            uncommittedIDs.insert(processID)
        }
        pendingRejections = commit.batch.rejections + pendingRejections
        // A new process dropped meanwhile (a fleet's fencing) was never written: its request
        // file stays in inbox/ for the next scan.
        let gone = Set(
            commit.batch.changes.filter { $0.isNew && processes[$0.record.processID] == nil }.map {
                "\(layout.inbox)/\($0.record.processID).json"
            })
        removalPending.subtract(gone)
        for path in gone { removalOwners.removeValue(forKey: path) }
        filesToRemove = commit.filesToRemove.filter { !gone.contains($0) } + filesToRemove
        if graceOver {
            // The store never came back within the grace: these never ran, and the store
            // still has them as they were before their start.
            for launch in commit.launches {
                running.removeValue(forKey: launch.key)
                liveAttempts.remove(launch.handle)
            }
        } else {
            launches = commit.launches + launches
        }
    }

    func log(_ event: EventRecord, processType: String) {
        let level: Logger.Level = event.event.isFailure ? .warning : .info
        // Several events per process: their metadata is built only when the level is logged.
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "process.id": "\(event.processID)", "process.type": "\(processType)",
        ]
        if let task = event.taskName { metadata["task.name"] = "\(task)" }
        if let detail = event.detail {
            for (key, value) in detail { metadata[key] = "\(value.templateText)" }
        }
        logger.log(level: level, "\(event.event.rawValue)", metadata: metadata)
    }

    /// A store write outside the batch loop (the session rows) that waits out a busy or full
    /// store with backoff, as long as `deadline` allows.
    /// - Throws: `StoreError` when the failure is not transient or the deadline passed.
    func writeWaitingOut<T: Sendable>(
        until deadline: ContinuousClock.Instant? = nil,
        _ body: @escaping @Sendable (any Store) async throws -> T
    ) async throws -> T {
        var backoff = Backoff(initial: 0.25, maximum: 5)
        while true {
            do {
                let result = try await body(store)
                pause.clear(.store)
                return result
            } catch {
                guard let error = error as? StoreError, let reason = PauseReason(storeError: error) else { throw error }
                pause.raise(.store, reason, path: error.location, message: error.message)
                if let deadline, ContinuousClock.now >= deadline { throw error }
                if shutdownRequested.load(ordering: .relaxed), deadline == nil { throw error }
                try? await Task.sleep(for: .seconds(backoff.next()))
            }
        }
    }
}
