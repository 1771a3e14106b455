import Foundation
import ProcessDefinitions

extension ProcessRun {
    /// Rebuilds a live process from its rows, aligned with the current definition: tasks are
    /// matched by name, and a task the definition gained since is added as pending.
    static func restore(record: ProcessRecord, rows: [TaskRecord], definition: ProcessDefinition, sequence: Int)
        -> ProcessRun
    {
        let byName = Dictionary(rows.map { ($0.taskName, $0) }, uniquingKeysWith: { first, _ in first })
        let fresh = newTasks(for: definition, processID: record.processID)
        let tasks = fresh.map { task -> TaskRecord in
            guard var row = byName[task.taskName] else { return task }
            row.position = task.position
            row.onFailure = task.onFailure
            return row
        }
        return ProcessRun(record: record, tasks: tasks, definition: definition, sequence: sequence)
    }

    /// Runner deaths in a row with a task running after which a process is given up (SPEC §6);
    /// why four: `ProcessEngine.crashLoopLimit`.
    static let crashLoopLimit = 4

    /// The recovery rule of SPEC §6 for one process whose runner stopped without recording the
    /// end of its running tasks: the one function behind both triggers, restart recovery on one
    /// host and a takeover by another runner. Tasks that succeeded stay done; each running task
    /// is `interrupted(_:at:)` (run again when idempotent, else failed `interrupted`); when the
    /// death counts as a crash and it is the `crashLoopLimit`-th in a row, the process ends
    /// `crash_loop` instead.
    mutating func recoverFromRunnerDeath(countsAsCrash: Bool, at now: Date) {
        let interrupted = tasks.indices.filter { tasks[$0].status == .running }
        dirtyProcess = true
        if countsAsCrash { record.crashCount += 1 }
        if record.crashCount >= Self.crashLoopLimit {
            failCrashLoop(now, crashes: record.crashCount)
        } else {
            for index in interrupted { self.interrupted(index, at: now) }
            event(.recovered, at: now, detail: ["interrupted_tasks": .integer(Int64(interrupted.count))])
        }
    }

    /// A task found `running` after a runner stopped without recording its end (a crash, or the
    /// end of a shutdown's grace period). The runner's death is not the task's failure (SPEC §6):
    /// an idempotent task runs again, and the interrupted attempt, recorded, does not count
    /// against `retry.max_attempts` (the crash-loop guard bounds the reruns); a `sleep:` resumes
    /// with the time it had left. A task that is not idempotent fails with `interrupted`.
    mutating func interrupted(_ index: Int, at now: Date) {
        let definition = taskDefinition(index)
        let name = definition.name
        tasks[index].pid = nil
        tasks[index].pidStartTicks = nil
        dirtyTasks.insert(index)
        dirtyProcess = true
        record.updatedAt = now
        if definition.idempotent, !isFailing {
            tasks[index].status = .pending
            tasks[index].retryBase += 1
            var detail: [String: JSONValue] = [
                "attempt": .integer(Int64(tasks[index].attempts)), "next": .string("run again"),
            ]
            if case .sleep(let duration) = definition.action {
                // Its stored end, but never more than its whole length from now: the clock may
                // have been stepped back while no runner ran.
                let latest = now.addingTimeInterval(duration.seconds)
                let stored =
                    tasks[index].sleepUntil ?? tasks[index].startedAt.map { $0.addingTimeInterval(duration.seconds) }
                    ?? latest
                let until = min(stored, latest)
                tasks[index].sleepUntil = until
                detail["sleep_until"] = .string(Timestamp.string(until))
            }
            event(.taskInterrupted, task: name, at: now, detail: detail)
            return
        }
        tasks[index].sleepUntil = nil
        let why = definition.idempotent ? "the process was already failing" : "it is not idempotent"
        let failure = FailureInfo(
            code: .interrupted, message: "the runner stopped while it ran and \(why), so it is not run again",
            task: name)
        tasks[index].status = .failed
        tasks[index].endedAt = now
        tasks[index].error = failure
        event(
            .taskInterrupted, task: name, at: now,
            detail: ["attempt": .integer(Int64(tasks[index].attempts)), "next": .string("failed")])
        if !definition.continueOnFailure, !isFailing, mainRange.contains(index) {
            record.error = FailureInfo(
                code: .interrupted, message: "task '\(name)' failed: \(failure.message)", task: name)
        }
    }

    /// Ends a process that was running during too many runner crashes in a row: it may be what
    /// crashes the runner, so nothing of it runs again, `on_failure` included.
    mutating func failCrashLoop(_ now: Date, crashes: Int) {
        let failure = FailureInfo(
            code: .crashLoop,
            message:
                "the runner crashed \(crashes) times in a row while this process ran; it is not run again (use `spoolrunner retry` once the cause is fixed)",
            task: nil)
        for index in tasks.indices {
            switch tasks[index].status {
            case .running:
                tasks[index].status = .failed
                tasks[index].endedAt = now
                tasks[index].error = FailureInfo(
                    code: .crashLoop, message: failure.message, task: tasks[index].taskName)
                tasks[index].pid = nil
                tasks[index].pidStartTicks = nil
                tasks[index].sleepUntil = nil
            case .pending, .retrying:
                tasks[index].status = .skipped
                tasks[index].nextAttemptAt = nil
            default: continue
            }
            dirtyTasks.insert(index)
        }
        record.error = failure
        event(.crashLoop, at: now, detail: ["crashes": .integer(Int64(crashes))])
        finish(.failed, now)
    }

    /// `spoolrunner retry`: a failed or cancelled process resumes from its unfinished tasks under
    /// the same id; finished tasks and attempt counts stay, each re-run task gets a fresh retry
    /// budget (like Step Functions' redrive).
    mutating func redrive(_ now: Date) {
        for index in tasks.indices {
            switch tasks[index].status {
            case .failed, .skipped, .cancelled:
                tasks[index].status = .pending
                tasks[index].retryBase = tasks[index].attempts
                tasks[index].error = nil
                tasks[index].endedAt = nil
                tasks[index].nextAttemptAt = nil
                tasks[index].sleepUntil = nil
                dirtyTasks.insert(index)
            default:
                // on_failure tasks that ran belong to the failed run; they may run again.
                if onFailureRange.contains(index), tasks[index].status != .pending {
                    tasks[index].status = .pending
                    tasks[index].retryBase = tasks[index].attempts
                    dirtyTasks.insert(index)
                }
            }
        }
        record.status = .pending
        // The process timeout counts from the retried run's start.
        record.startedAt = nil
        record.endedAt = nil
        record.error = nil
        record.crashCount = 0
        record.updatedAt = now
        dirtyProcess = true
        event(.retryRequested, at: now)
    }
}
