import Foundation
import ProcessDefinitions

/// A live process inside the engine: its rows, its definition, and what changed since the last
/// commit.
///
/// This is the state machine of SPEC §5 ("Ordering") in one place, with no I/O: the engine feeds
/// it events (a task started or ended, a cancel, a timeout) and persists what it marks dirty.
/// `tasks[i]` always belongs to `definition.allTasks[i]`.
struct ProcessRun {
    var record: ProcessRecord
    var tasks: [TaskRecord]
    let definition: ProcessDefinition
    /// Admission order: older processes' tasks start first, so a burst completes in order instead
    /// of every process finishing late.
    let sequence: Int
    /// Task indexes waiting in the engine's ready queue.
    var queued: Set<Int> = []
    /// Accepted in this batch: its row is inserted, not updated.
    var isNew = false
    /// Whether this runner writes the process's status file: always with a store of one runner;
    /// in a fleet, only on the hosts where the request was dropped (its subscribers, SPEC §9).
    var writesStatus = true
    /// Retrying tasks whose backoff timer fired in this run. The timer runs on the monotonic
    /// clock, so a retry is not held back by a wall clock stepped back after it was armed.
    var dueRetries: Set<Int> = []
    /// Counts this process's starts in this run of the runner (a `retry` starts it again): a
    /// process-timeout timer armed for an earlier start is stale. Not a wall-clock comparison,
    /// which a clock step would fool.
    var startGeneration = 0
    var dirtyProcess = false
    /// The `updated_at` of the last state handed to the store writer (`ProcessEngine.takeBatch`).
    var handedOverUpdatedAt: Date?
    var dirtyTasks: Set<Int> = []
    var newEvents: [EventRecord] = []

    init(record: ProcessRecord, tasks: [TaskRecord], definition: ProcessDefinition, sequence: Int) {
        self.record = record
        self.tasks = tasks
        self.definition = definition
        self.sequence = sequence
    }

    /// A new process's rows: every task pending.
    static func newTasks(for definition: ProcessDefinition, processID: String) -> [TaskRecord] {
        let main = definition.tasks.count
        return definition.allTasks.enumerated().map { index, task in
            TaskRecord(
                processID: processID, taskName: task.name, position: index, mode: task.mode,
                onFailure: index >= main)
        }
    }

    var processID: String { record.processID }
    var mainRange: Range<Int> { 0..<definition.tasks.count }
    var onFailureRange: Range<Int> { definition.tasks.count..<tasks.count }
    var isDirty: Bool { dirtyProcess || !dirtyTasks.isEmpty || !newEvents.isEmpty }
    var runningIndexes: [Int] { tasks.indices.filter { tasks[$0].status == .running } }

    /// A cancel was asked for; stored as the process error so that it survives a restart.
    var cancelRequested: Bool { record.error?.code == .cancelled }
    /// A task failed for good, the process timed out or was cancelled: no new main task starts.
    var isFailing: Bool { record.error != nil }

    func index(of name: String) -> Int? { tasks.firstIndex { $0.taskName == name } }
    func taskDefinition(_ index: Int) -> TaskDefinition { definition.allTasks[index] }

    // MARK: - Recording

    /// Makes the state about to be handed to the store writer newer, in the files' whole
    /// milliseconds, than the one handed over before it. The status reconciler tells a stale
    /// status file by its `updated_at` alone; while a commit is in flight the engine may record
    /// two states of one process within the same millisecond, and a crash between the second
    /// commit and its status write would otherwise leave a stale file that looks current.
    mutating func stampForHandOver() {
        if let previous = handedOverUpdatedAt {
            let last = (previous.timeIntervalSince1970 * 1000).rounded(.down)
            if (record.updatedAt.timeIntervalSince1970 * 1000).rounded(.down) <= last {
                // Mid-millisecond, so that cutting it down to whole milliseconds gives last + 1.
                record.updatedAt = Date(timeIntervalSince1970: (last + 1.5) / 1000)
            }
        }
        handedOverUpdatedAt = record.updatedAt
    }

    mutating func event(_ kind: EventKind, task: String? = nil, at now: Date, detail: [String: JSONValue]? = nil) {
        newEvents.append(EventRecord(processID: record.processID, taskName: task, event: kind, at: now, detail: detail))
    }

    private mutating func touch(_ now: Date) {
        record.updatedAt = now
        dirtyProcess = true
    }

    private mutating func update(_ index: Int, _ now: Date, _ change: (inout TaskRecord) -> Void) {
        change(&tasks[index])
        dirtyTasks.insert(index)
        touch(now)
    }

    // MARK: - Transitions

    /// The process's first task is about to start.
    mutating func markStarted(_ now: Date) {
        record.status = .running
        record.startedAt = now
        startGeneration += 1
        touch(now)
        event(.processStarted, at: now)
    }

    mutating func taskStarted(_ index: Int, _ now: Date) {
        queued.remove(index)
        dueRetries.remove(index)
        // A sleep's end is stored so that a crash resumes it with the time it had left; a
        // resumed sleep keeps the deadline recovery gave it.
        var sleepUntil: Date?
        if case .sleep(let duration) = taskDefinition(index).action {
            sleepUntil = tasks[index].sleepUntil ?? now.addingTimeInterval(duration.seconds)
        }
        update(index, now) { task in
            task.sleepUntil = sleepUntil
            task.status = .running
            task.attempts += 1
            task.startedAt = now
            task.endedAt = nil
            task.exitCode = nil
            task.output = nil
            task.error = nil
            task.nextAttemptAt = nil
            task.pid = nil
            task.pidStartTicks = nil
        }
        event(
            .taskStarted, task: tasks[index].taskName, at: now,
            detail: ["attempt": .integer(Int64(tasks[index].attempts))])
    }

    mutating func taskSpawned(_ index: Int, attempt: Int, pid: Int32, startTicks: Int64?, _ now: Date) {
        guard tasks[index].status == .running, tasks[index].attempts == attempt else { return }
        update(index, now) { task in
            task.pid = Int(pid)
            task.pidStartTicks = startTicks
        }
    }

    /// Records how an attempt ended. Returns when the next attempt is due, if it is retried.
    mutating func taskEnded(_ index: Int, attempt: Int, outcome: TaskOutcome, now: Date) -> Date? {
        guard tasks[index].status == .running, tasks[index].attempts == attempt else { return nil }
        // The end the executor saw, never before the recorded start (clocks are not monotonic).
        var ended = outcome.endedAt
        if let started = tasks[index].startedAt, ended < started { ended = started }
        let definition = taskDefinition(index)
        let name = definition.name
        var retryAt: Date?
        // An attempt ended under this runner: the process made progress, so the crashes before
        // were not in a row with the next one (a poison request never gets here).
        record.crashCount = 0
        // updated_at is when the change is recorded; ended_at when the task really ended.
        update(index, now) { task in
            task.sleepUntil = nil
            task.endedAt = ended
            task.exitCode = outcome.exitCode
            task.output = outcome.output
            task.error = outcome.failure
            task.pid = nil
            task.pidStartTicks = nil
        }
        guard let failure = outcome.failure else {
            tasks[index].status = .success
            event(
                .taskSucceeded, task: name, at: ended,
                detail: outcome.exitCode.map { ["exit_code": .integer(Int64($0))] })
            return nil
        }
        let detail: [String: JSONValue] = [
            "code": .string(failure.code.rawValue), "message": .string(failure.message),
            "attempt": .integer(Int64(attempt)),
        ]
        if failure.code == .cancelled {
            tasks[index].status = .cancelled
            event(.taskCancelled, task: name, at: ended, detail: detail)
            return nil
        }
        let used = tasks[index].attempts - tasks[index].retryBase
        if failure.code.isRetryable, !isFailing, used < definition.retry.maxAttempts {
            let due = ended.addingTimeInterval(definition.retry.delay(afterAttempt: used).seconds)
            retryAt = due
            tasks[index].status = .retrying
            tasks[index].nextAttemptAt = due
            var retryDetail = detail
            retryDetail["next_attempt_at"] = .string(Timestamp.string(due))
            event(.taskRetrying, task: name, at: ended, detail: retryDetail)
            return retryAt
        }
        tasks[index].status = .failed
        event(.taskFailed, task: name, at: ended, detail: detail)
        if !definition.continueOnFailure, !isFailing, mainRange.contains(index) {
            record.error = FailureInfo(
                code: failure.code, message: "task '\(name)' failed: \(failure.message)", task: name)
        }
        return nil
    }

    /// Marks the process cancelled-in-progress. Returns the running tasks to stop.
    mutating func requestCancel(_ now: Date) -> [Int] {
        guard !record.status.isFinal else { return [] }
        record.error = FailureInfo(code: .cancelled, message: "cancelled on request", task: nil)
        touch(now)
        event(.cancelRequested, at: now)
        return runningIndexes
    }

    /// The process ran past its `timeout`. Returns the running tasks to stop.
    /// - Parameter generation: the `startGeneration` the timer was armed for; a timer of an
    ///   earlier start (before a `retry`) is stale.
    mutating func timedOut(_ now: Date, armedFor generation: Int) -> [Int] {
        guard record.status == .running, !isFailing, let limit = definition.timeout, generation == startGeneration
        else { return [] }
        record.error = FailureInfo(
            code: .timeout, message: "the process ran past its timeout of \(DurationParser.format(limit))", task: nil)
        touch(now)
        event(.processTimeout, at: now)
        return runningIndexes.filter { mainRange.contains($0) }
    }

    // MARK: - Deciding what comes next

    /// Applies the ordering and failure rules: skips what can no longer run, ends the process
    /// when everything has ended, and returns the tasks that may start now (marked queued).
    mutating func advance(now: Date) -> [Int] {
        guard !record.status.isFinal else { return [] }
        if cancelRequested {
            // on_failure tasks that have not started stay pending: they never run, and status
            // files list only the ones that ran.
            for index in tasks.indices where mainRange.contains(index) || tasks[index].status != .pending {
                switch tasks[index].status {
                case .pending: skip(index, now, reason: "the process was cancelled")
                case .retrying:
                    update(index, now) {
                        $0.status = .cancelled
                        $0.nextAttemptAt = nil
                    }
                    event(.taskCancelled, task: tasks[index].taskName, at: now)
                default: break
                }
            }
            queued.removeAll()
            if runningIndexes.isEmpty { finish(.cancelled, now) }
            return []
        }
        if isFailing {
            for index in mainRange {
                switch tasks[index].status {
                case .pending: skip(index, now, reason: "the process failed")
                case .retrying:
                    // It failed and will not get its next attempt: it ends failed, with its error.
                    update(index, now) {
                        $0.status = .failed
                        $0.nextAttemptAt = nil
                    }
                    event(
                        .taskFailed, task: tasks[index].taskName, at: now,
                        detail: ["code": .string(FailureCode.retryAbandoned.rawValue)])
                default: break
                }
                queued.remove(index)
            }
            guard !mainRange.contains(where: { tasks[$0].status == .running }) else { return [] }
            let ready = resolve(onFailureRange, now)
            if onFailureRange.allSatisfy({ tasks[$0].status.isFinal }) { finish(.failed, now) }
            return ready
        }
        let ready = resolve(mainRange, now)
        if mainRange.allSatisfy({ tasks[$0].status.isFinal }) {
            finish(.success, now)
            return []
        }
        return ready
    }

    /// Tasks of `range` whose dependencies have all succeeded; those with a dependency that
    /// ended otherwise are skipped (repeated until nothing changes, since skips cascade).
    private mutating func resolve(_ range: Range<Int>, _ now: Date) -> [Int] {
        var ready: [Int] = []
        var changed = true
        while changed {
            changed = false
            for index in range where !queued.contains(index) {
                let status = tasks[index].status
                guard status == .pending || status == .retrying else { continue }
                if status == .retrying, !dueRetries.contains(index),
                    let due = tasks[index].nextAttemptAt, due > now
                {
                    continue
                }
                let definition = taskDefinition(index)
                let dependencies = definition.dependencies.compactMap(index(of:))
                // `needs:` asks for success. The implicit sync rule is only about order, so a
                // sync task that failed with `continue_on_failure` lets the next ones go on.
                if dependencies.allSatisfy({ satisfies($0, for: definition) }) {
                    queued.insert(index)
                    ready.append(index)
                } else if status == .pending,
                    let blocker = dependencies.first(where: {
                        tasks[$0].status.isFinal && !satisfies($0, for: definition)
                    })
                {
                    skip(
                        index, now,
                        reason: "needs '\(tasks[blocker].taskName)', which ended \(tasks[blocker].status.rawValue)")
                    changed = true
                }
            }
        }
        return ready
    }

    /// Whether `dependency` lets `task` start.
    func satisfies(_ dependency: Int, for task: TaskDefinition) -> Bool {
        tasks[dependency].status == .success
            || (task.needs == nil && tasks[dependency].status == .failed
                && taskDefinition(dependency).continueOnFailure)
    }

    private mutating func skip(_ index: Int, _ now: Date, reason: String) {
        queued.remove(index)
        update(index, now) { $0.status = .skipped }
        event(.taskSkipped, task: tasks[index].taskName, at: now, detail: ["reason": .string(reason)])
    }

    mutating func finish(_ status: ProcessStatus, _ now: Date) {
        record.status = status
        record.endedAt = now
        if status == .success { record.error = nil }
        touch(now)
        let kind: EventKind =
            switch status {
            case .success: .processSucceeded
            case .cancelled: .processCancelled
            default: .processFailed
            }
        event(
            kind, at: now,
            detail: record.error.map { ["code": .string($0.code.rawValue), "message": .string($0.message)] })
    }
}
