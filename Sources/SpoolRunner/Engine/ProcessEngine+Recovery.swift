import Foundation
import ProcessDefinitions

extension ProcessEngine {
    /// Crashes in a row with a task running after which a process is given up (SPEC §6).
    /// Counted only for runs that had started one of the process's attempts, and only while the
    /// process makes no progress: any attempt that ends under a runner resets it, so a kill
    /// storm does not end work that moves on between kills. Four, not three: `scripts/chaos.sh`
    /// on a loaded machine (20 kills 0.1-1.5 s apart) saw one process of 2,000 interrupted three
    /// times in a row without a poison task; and four crashes stay within systemd's default
    /// StartLimitBurst=5 with the shipped RestartSec=2s.
    static let crashLoopLimit = ProcessRun.crashLoopLimit

    /// Records this run of the runner; the previous session's `clean_exit` tells whether it crashed.
    /// A busy or full store is waited out here too (until SIGTERM).
    func beginSession() async throws {
        let session = RunnerSessionRecord(
            pid: Int(getpid()), version: Version.current, startedAt: startedAt)
        let start = try await writeWaitingOut { store in try await store.beginSession(session) }
        sessionID = start.sessionID
        previousSession = start.previous
        uncleanSince = start.uncleanSince
    }

    /// A clean stop: no crash counts against the processes still unfinished.
    /// A store still busy or full after the grace makes it an unclean stop (exit 74).
    func endSession() async throws {
        let now = Date()
        guard let id = sessionID else { return }
        try await writeWaitingOut(until: .now + configuration.grace) { store in
            try await store.endSession(id, at: now)
        }
    }

    /// Resumes every unfinished process from the store (SPEC §6): succeeded tasks stay done;
    /// a task that was running is killed if anything of it is left, then run again or failed
    /// `interrupted`; retry and process timers are armed again from their stored times.
    func recover() async throws {
        cleanTemporaryFiles()
        if let previous = previousSession, !previous.cleanExit {
            // From the first of the sessions that crashed in a row: one killed before it
            // committed what it recovered left that to this one.
            await recoverRejections(since: min(uncleanSince ?? previous.startedAt, previous.startedAt))
        }
        // A shared store hands work out by claims, as task slots free (see `claimWork`); a
        // store of one runner hands out every unfinished process now (SPEC §6).
        guard !coordination.sharesWork else { return }
        let claimed = try await coordination.claim(limit: .max, concurrency: [:])
        let previous = previousSession
        let crashed = previous.map { !$0.cleanExit } ?? false
        if crashed, let previous {
            // Status files it did not write are found by the status writer's start-up sweep.
            logger.warning(
                "the previous runner (pid \(previous.pid), started \(previous.startedAt)) did not stop cleanly; recovering"
            )
        }
        try await resume(claimed, crashed: crashed, since: previous?.startedAt, now: Date())
        if !claimed.isEmpty {
            logger.notice("resuming \(claimed.count) unfinished process(es)")
        }
        // Committed by the run loop's first flush, with the first batch.
        advanceTouched(now: Date())
    }

    /// Queues the `rejections` rows a crash kept from the store (see `RejectionRecovery`); they
    /// are committed with the first batch. A store that cannot be read now only costs those rows
    /// (logged): the runner starts anyway.
    func recoverRejections(since start: Date) async {
        do {
            let rows = try await RejectionRecovery(layout: layout, store: store).unrecorded(since: start)
            guard !rows.isEmpty else { return }
            pendingRejections = rows + pendingRejections
            logger.notice(
                "recording \(rows.count) rejection(s) the previous runner moved to \(layout.rejected)/ but did not record before it stopped: \(rows.map(\.fileName).joined(separator: ", "))"
            )
        } catch {
            logger.error(
                "cannot look for rejections the previous runner did not record; rejected/ still has their files: \(error)"
            )
        }
    }

    /// Takes `claimed` processes into the engine: succeeded tasks stay done; a task that was
    /// running is killed if anything of it is left, then run again or failed `interrupted`
    /// (the one recovery rule of SPEC §6); retry and process timers are armed again from their
    /// stored times. `crashed` says whether the runner that ran them died (rather than stopped
    /// and handed them over), and `since` when that runner started.
    func resume(_ claimed: [ClaimedWork], crashed: Bool, since sessionStart: Date?, now: Date) async throws {
        let rows = claimed.flatMap(\.process.tasks)
        // Before any task runs again: kill what is left of every interrupted one, in one pass.
        // The /proc scan and its wait for the victims to die (up to 10 s) run off the engine.
        let leftovers = rows.filter { $0.status == .running }.map { task in
            ProcessInspector.Leftover(
                pid: task.pid.map(Int32.init), startTicks: task.pidStartTicks,
                environment: [
                    "SPOOL_WORK_DIR=\(layout.workDirectory(task.processID))", "SPOOL_TASK_NAME=\(task.taskName)",
                ])
        }
        if !leftovers.isEmpty {
            await Task.detached { ProcessInspector.killLeftovers(leftovers) }.value
        }
        for work in claimed {
            let record = work.process.record
            let taskRows = work.process.tasks
            guard processes[record.processID] == nil else { continue }
            guard let definition = work.definition ?? catalog.definitions[record.processType] else {
                try await failWithoutDefinition(record, rows: taskRows, now: now)
                continue
            }
            var run = ProcessRun.restore(record: record, rows: taskRows, definition: definition, sequence: nextSequence)
            run.writesStatus = work.subscribed
            nextSequence += 1
            let interrupted = run.tasks.indices.filter { run.tasks[$0].status == .running }
            // A claim of a shared store writes nothing by itself: only what recovery changes.
            if !coordination.sharesWork { run.dirtyProcess = true }
            // A crash counts against the process only when the run that crashed had started one
            // of its attempts: a runner killed during its start or recovery, before it ran the
            // task again, says nothing about the task (kill storms on a loaded machine did
            // that, and ended healthy processes with crash_loop).
            let startedByCrashedRun = interrupted.contains { index in
                guard let started = run.tasks[index].startedAt, let sessionStart else {
                    return true
                }
                return started >= sessionStart
            }
            let died = crashed || work.fromDeadIncarnation
            if !interrupted.isEmpty || !coordination.sharesWork {
                run.recoverFromRunnerDeath(countsAsCrash: died && startedByCrashedRun, at: now)
            }
            if run.record.status == .running {
                runningProcessesByType[record.processType, default: 0] += 1
                // From the recorded start, but never more than its length from now: the clock
                // may have been stepped back while no runner ran.
                if let timeout = definition.timeout, let started = record.startedAt {
                    let left = min(started.addingTimeInterval(timeout.seconds).timeIntervalSince(now), timeout.seconds)
                    timersToArm.append(
                        (
                            .seconds(max(0, left)),
                            .processTimeout(processID: record.processID, generation: run.startGeneration)
                        ))
                }
            }
            for index in run.tasks.indices where run.tasks[index].status == .retrying {
                // The stored due time, but never later than the backoff from now.
                let task = run.tasks[index]
                let backoff = definition.allTasks[index].retry.delay(
                    afterAttempt: max(1, task.attempts - task.retryBase), random: 1
                ).seconds
                let due =
                    task.nextAttemptAt.map { min($0.timeIntervalSince(now), backoff) } ?? 0
                timersToArm.append((.seconds(max(0, due)), .retryDue(processID: record.processID, index: index)))
            }
            processes[record.processID] = run
            touched.insert(record.processID)
        }
    }

    /// A process whose definition file is gone cannot be resumed: it fails, saying so.
    func failWithoutDefinition(_ record: ProcessRecord, rows: [TaskRecord], now: Date) async throws {
        var record = record
        record.status = .failed
        record.endedAt = now
        record.updatedAt = now
        record.error = FailureInfo(
            code: .unknownProcessType,
            message:
                "no definition for process_type '\(record.processType)' any more; restore definitions/\(record.processType).yaml and run `spoolrunner retry \(record.processID)`"
        )
        var rows = rows
        for index in rows.indices where !rows[index].status.isFinal {
            rows[index].status = rows[index].status == .running ? .failed : .skipped
        }
        let finalRows = rows
        let finalRecord = record
        let event = EventRecord(
            processID: finalRecord.processID, event: .processFailed, at: now,
            detail: ["code": .string(FailureCode.unknownProcessType.rawValue)])
        let batch = StoreBatch(changes: [
            .init(record: finalRecord, isNew: false, processChanged: true, tasks: finalRows, events: [event])
        ])
        // Lost (another runner holds it now): that runner fails it the same way.
        guard try await store.commit(batch).lost.isEmpty else { return }
        metrics?.count(batch.counters)
        statusPublisher.publish(StatusDocument(process: finalRecord, tasks: finalRows))
    }

    /// Half-written temp files of a dead runner, and clients' staging files in `tmp/` left for
    /// more than 36 hours (the Maildir rule).
    func cleanTemporaryFiles() {
        // inbox/ too: the schedule loop writes its slot files there through a temp file.
        for directory in [layout.outbox, layout.rejected, layout.root, layout.inbox] {
            AtomicFile.removeStaleTempFiles(in: directory)
        }
        let cutoff = Date().addingTimeInterval(-36 * 3600)
        // Best effort, like any cleanup: what cannot be listed or removed now is tried again at
        // the next start, and nothing depends on it being gone.
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: layout.tmp) else { return }
        for name in names where name != ".gitkeep" {
            let path = "\(layout.tmp)/\(name)"
            if let modified = FileIdentity.of(path)?.modified, modified < cutoff {
                try? FileManager.default.removeItem(atPath: path)
                logger.notice("removed a staging file older than 36 hours", metadata: ["spool.file": "\(path)"])
            }
        }
    }
}
