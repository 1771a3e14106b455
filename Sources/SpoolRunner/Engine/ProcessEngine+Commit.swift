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

    /// Commits every change since the last flush in one transaction, then does what had to wait
    /// for that commit: removing accepted request files, rewriting status files.
    ///
    /// A busy or full store is waited out: nothing of the batch is lost (the changes stay dirty
    /// and are committed with the next batch), nothing that needs the commit happens (request
    /// files stay in inbox/, tasks are not spawned, status files keep their last committed
    /// state), the runner pauses intake and task starts, and the next try comes after a backoff.
    /// - Returns: whether everything is committed.
    /// - Throws: `StoreError` for a failure that is not transient (a corrupt store).
    func flush() async throws -> Bool {
        if pause.isActive(.store), !commitRetryDue { return false }
        let dirtyIDs = touched.filter { processes[$0]?.isDirty ?? false }.union(uncommittedIDs)
        touched.removeAll(keepingCapacity: true)
        let rejections = pendingRejections
        if !dirtyIDs.isEmpty || !rejections.isEmpty {
            let batch = StoreBatch(
                changes: dirtyIDs.compactMap { id in
                    guard let run = processes[id], run.isDirty else { return nil }
                    return .init(
                        record: run.record, isNew: run.isNew, processChanged: run.dirtyProcess,
                        tasks: run.dirtyTasks.sorted().map { run.tasks[$0] }, events: run.newEvents)
                }, rejections: rejections)
            let outcome: CommitOutcome
            do {
                outcome = try await store.commit(batch)
            } catch {
                guard let reason = PauseReason(storeError: error) else { throw error }
                uncommittedIDs = dirtyIDs
                if reason == .storeBusy, !pause.isActive(.store) { await store.setBusyTimeout(Self.busyRetryTimeout) }
                pause.raise(.store, reason, path: error.location, message: error.message)
                commitRetryDue = false
                timersToArm.append((.seconds(commitBackoff.next()), .retryCommit))
                return false
            }
            committed(batch)
            // A shared store fenced off what another runner holds now: nothing more of it may
            // happen here (no spawn, no status file, its request file judged again).
            if !outcome.lost.isEmpty { lost(outcome.lost) }
            if !outcome.cancelRequested.isEmpty { applyRemoteCancels(outcome.cancelRequested.sorted(), now: Date()) }
            if pause.isActive(.store) {
                commitBackoff.reset()
                pause.clear(.store)
                await store.setBusyTimeout(nil)
            }
        }
        uncommittedIDs.removeAll()
        pendingRejections.removeAll()
        for path in filesToRemove {
            CrashPoint.step("unlink")
            unlink(path)
        }
        filesToRemove.removeAll()
        for processID in dirtyIDs {
            guard var run = processes[processID] else { continue }
            for event in run.newEvents { log(event, run: run) }
            if run.writesStatus { statusPublisher.publish(StatusDocument(process: run.record, tasks: run.tasks)) }
            run.isNew = false
            run.dirtyProcess = false
            run.dirtyTasks.removeAll()
            run.newEvents.removeAll()
            if run.record.status.isFinal {
                processes.removeValue(forKey: processID)
            } else {
                processes[processID] = run
            }
        }
        if coordination.sharesWork { await releaseExcess() }
        return true
    }

    func log(_ event: EventRecord, run: ProcessRun) {
        let level: Logger.Level = event.event.isFailure ? .warning : .info
        // Several events per process: their metadata is built only when the level is logged.
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "process.id": "\(event.processID)", "process.type": "\(run.record.processType)",
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
