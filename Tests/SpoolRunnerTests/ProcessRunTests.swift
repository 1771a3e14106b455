import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner

/// The ordering and failure state machine (SPEC §5 "Ordering"), driven by hand: no spool, no
/// executor, no clock but the dates given to it.
@Suite(.endToEnd) struct ProcessRunTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func definition(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> ProcessDefinition
    {
        switch DefinitionLoader.parse(yaml: yaml, file: "machine.yaml", baseDirectory: "/definitions") {
        case .success(let definition): return definition
        case .failure(let errors):
            Issue.record("definition does not load: \(errors)", sourceLocation: sourceLocation)
            throw errors
        }
    }

    /// A fresh run of `yaml`, as intake creates it.
    static func run(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessRun {
        let definition = try definition(yaml, sourceLocation: sourceLocation)
        let record = ProcessRecord(
            processID: "p1", processType: "machine", status: .pending, inputs: [:],
            requestJSON: #"{"process_type": "machine"}"#, createdAt: t0, updatedAt: t0)
        return ProcessRun(
            record: record, tasks: ProcessRun.newTasks(for: definition, processID: "p1"), definition: definition,
            sequence: 0)
    }

    static let success = TaskOutcome(exitCode: 0)
    static func failure(_ code: FailureCode = .exitStatus, exit: Int? = 1) -> TaskOutcome {
        TaskOutcome(exitCode: exit, failure: FailureInfo(code: code, message: "it went wrong", task: nil))
    }

    // MARK: - Driving helpers

    /// What `advance` offers, by name.
    static func advance(_ run: inout ProcessRun, at date: Date = t0) -> [String] {
        run.advance(now: date).map { run.tasks[$0].taskName }
    }

    /// Starts the named tasks the way the engine does.
    static func start(_ run: inout ProcessRun, _ names: [String], at date: Date = t0) throws {
        for name in names {
            let index = try #require(run.index(of: name))
            if run.record.status == .pending { run.markStarted(date) }
            run.taskStarted(index, date)
        }
    }

    @discardableResult
    static func end(_ run: inout ProcessRun, _ name: String, _ outcome: TaskOutcome = success, at date: Date = t0)
        throws -> Date?
    {
        let index = try #require(run.index(of: name))
        return run.taskEnded(index, attempt: run.tasks[index].attempts, outcome: outcome, now: date)
    }

    static func status(_ run: ProcessRun, _ name: String) -> TaskStatus? {
        run.index(of: name).map { run.tasks[$0].status }
    }

    static func statuses(_ run: ProcessRun) -> [String: TaskStatus] {
        Dictionary(uniqueKeysWithValues: run.tasks.map { ($0.taskName, $0.status) })
    }

    // MARK: - Ordering

    @Test func syncChainOffersOneTaskAtATime() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
              - {name: b, sleep: 1s}
              - {name: c, sleep: 1s}
            """)
        #expect(run.record.status == .pending)
        #expect(Self.advance(&run) == ["a"])
        #expect(Self.advance(&run) == [], "a queued task is not offered twice")
        try Self.start(&run, ["a"])
        #expect(run.record.status == .running)
        #expect(run.record.startedAt == Self.t0)
        #expect(Self.advance(&run) == [])
        try Self.end(&run, "a")
        #expect(Self.advance(&run) == ["b"])
        try Self.start(&run, ["b"])
        try Self.end(&run, "b")
        #expect(Self.advance(&run) == ["c"])
        try Self.start(&run, ["c"])
        try Self.end(&run, "c")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .success)
        #expect(run.record.endedAt != nil)
        #expect(run.record.error == nil)
        #expect(run.newEvents.last?.event == .processSucceeded)
    }

    @Test func asyncTaskHoldsNothingUpButTheProcessWaitsForIt() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: mail, mode: async, sleep: 1s}
              - {name: b, sleep: 1s}
              - {name: c, sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["mail", "b"])
        try Self.start(&run, ["mail", "b"])
        try Self.end(&run, "b")
        #expect(Self.advance(&run) == ["c"])
        try Self.start(&run, ["c"])
        try Self.end(&run, "c")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .running, "mail is still running")
        try Self.end(&run, "mail")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .success)
    }

    @Test func needsJoinsAsyncTasks() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: start, sleep: 1s}
              - {name: x, mode: async, sleep: 1s}
              - {name: y, mode: async, sleep: 1s}
              - {name: join, needs: [x, y], sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["start"])
        try Self.start(&run, ["start"])
        try Self.end(&run, "start")
        #expect(Self.advance(&run) == ["x", "y"])
        try Self.start(&run, ["x", "y"])
        try Self.end(&run, "x")
        #expect(Self.advance(&run) == [])
        try Self.end(&run, "y")
        #expect(Self.advance(&run) == ["join"])
    }

    // MARK: - Failure

    @Test func failureSkipsPendingTasksWaitsForRunningOnesThenRunsOnFailure() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: slow, mode: async, sleep: 1s}
              - {name: bad, sleep: 1s}
              - {name: after, sleep: 1s}
              - {name: also_after, mode: async, needs: [slow], sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
              - {name: report, sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["slow", "bad"])
        try Self.start(&run, ["slow", "bad"])
        try Self.end(&run, "bad", Self.failure(exit: 3))
        #expect(run.record.error?.code == .exitStatus)
        #expect(run.record.error?.task == "bad")
        #expect(run.isFailing)

        // slow is still running: nothing new starts, not even on_failure.
        #expect(Self.advance(&run) == [])
        #expect(Self.status(run, "after") == .skipped)
        #expect(Self.status(run, "also_after") == .skipped)
        #expect(Self.status(run, "slow") == .running)
        #expect(Self.status(run, "cleanup") == .pending)
        #expect(run.record.status == .running)

        try Self.end(&run, "slow")
        #expect(Self.status(run, "slow") == .success)
        #expect(Self.advance(&run) == ["cleanup"])
        try Self.start(&run, ["cleanup"])
        try Self.end(&run, "cleanup")
        #expect(Self.advance(&run) == ["report"])
        try Self.start(&run, ["report"])
        try Self.end(&run, "report", Self.failure())
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .failed)
        #expect(run.record.endedAt != nil)
        // An on_failure task's own failure does not replace the process's error.
        #expect(run.record.error?.task == "bad")
        #expect(run.newEvents.last?.event == .processFailed)
        let skipped = run.newEvents.filter { $0.event == .taskSkipped }.compactMap(\.taskName)
        #expect(Set(skipped) == ["after", "also_after"])
    }

    @Test func failureWithoutOnFailureEndsOnceRunningTasksEnd() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
              - {name: b, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        try Self.end(&run, "a", Self.failure())
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .failed)
        #expect(Self.statuses(run) == ["a": .failed, "b": .skipped])
    }

    @Test func skipsCascadeThroughNeeds() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, continue_on_failure: true, sleep: 1s}
              - {name: b, mode: async, needs: [a], sleep: 1s}
              - {name: c, mode: async, needs: [b], sleep: 1s}
              - {name: d, mode: async, needs: [], sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["a", "d"])
        try Self.start(&run, ["a", "d"])
        try Self.end(&run, "a", Self.failure())
        #expect(run.record.error == nil, "continue_on_failure: the process does not fail")
        #expect(Self.advance(&run) == [])
        #expect(Self.status(run, "b") == .skipped)
        #expect(Self.status(run, "c") == .skipped)
        #expect(run.record.status == .running)
        try Self.end(&run, "d")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .success)
    }

    @Test func aSyncTaskThatFailsWithContinueOnFailureLetsTheNextTasksRun() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: optional, continue_on_failure: true, sleep: 1s}
              - {name: follows, sleep: 1s}
              - {name: insists, mode: async, needs: [optional], sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["optional"])
        try Self.start(&run, ["optional"])
        try Self.end(&run, "optional", Self.failure())
        // The implicit order is satisfied by the ended task; `needs:` still asks for success.
        #expect(Self.advance(&run) == ["follows"])
        #expect(Self.status(run, "insists") == .skipped)
        try Self.start(&run, ["follows"])
        try Self.end(&run, "follows")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .success)
    }

    @Test func continueOnFailureLetsIndependentTasksStart() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: first, sleep: 1s}
              - {name: optional, mode: async, continue_on_failure: true, sleep: 1s}
              - {name: second, sleep: 1s}
              - {name: third, sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["first"])
        try Self.end(&run, "first")
        #expect(Self.advance(&run) == ["optional", "second"])
        try Self.start(&run, ["optional", "second"])
        try Self.end(&run, "optional", Self.failure())
        try Self.end(&run, "second")
        #expect(Self.advance(&run) == ["third"])
        try Self.start(&run, ["third"])
        try Self.end(&run, "third")
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .success)
        #expect(Self.status(run, "cleanup") == .pending, "on_failure did not run")
    }

    // MARK: - Retry

    @Test func failedAttemptIsRetriedAfterItsBackoff() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: flaky, sleep: 1s, retry: {max_attempts: 3, backoff: 2s, max_backoff: 1m}}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["flaky"])
        let due = try #require(try Self.end(&run, "flaky", Self.failure()))
        // Equal jitter: between half the backoff and the backoff.
        #expect(due.timeIntervalSince(Self.t0) >= 1 && due.timeIntervalSince(Self.t0) <= 2)
        #expect(Self.status(run, "flaky") == .retrying)
        #expect(run.tasks[0].nextAttemptAt == due)
        #expect(run.record.error == nil)
        #expect(run.newEvents.last?.event == .taskRetrying)

        #expect(Self.advance(&run, at: due.addingTimeInterval(-0.1)) == [], "not before it is due")
        #expect(Self.advance(&run, at: due.addingTimeInterval(0.01)) == ["flaky"])
        try Self.start(&run, ["flaky"], at: due)
        #expect(run.tasks[0].attempts == 2)
        #expect(run.tasks[0].error == nil && run.tasks[0].exitCode == nil)
        try Self.end(&run, "flaky", at: due)
        #expect(Self.advance(&run, at: due) == [])
        #expect(run.record.status == .success)
        #expect(run.tasks[0].attempts == 2)
    }

    @Test func backoffDoublesUpToItsMaximum() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: flaky, sleep: 1s, retry: {max_attempts: 5, backoff: 1s, max_backoff: 3s}}
            """)
        var now = Self.t0
        var waits: [Double] = []
        _ = Self.advance(&run)
        for _ in 1...4 {
            try Self.start(&run, ["flaky"], at: now)
            let due = try #require(try Self.end(&run, "flaky", Self.failure(), at: now))
            waits.append(due.timeIntervalSince(now))
            now = due
            #expect(Self.advance(&run, at: now) == ["flaky"])
        }
        // backoff 1, 2, 4 → capped 3, 3; each with equal jitter in [b/2, b].
        for (wait, bound) in zip(waits, [1.0, 2.0, 3.0, 3.0]) {
            #expect(wait >= bound / 2 - 0.001 && wait <= bound + 0.001, "\(waits)")
        }
        try Self.start(&run, ["flaky"], at: now)
        #expect(try Self.end(&run, "flaky", Self.failure(), at: now) == nil, "five attempts spent")
        #expect(Self.status(run, "flaky") == .failed)
        #expect(run.tasks[0].attempts == 5)
    }

    @Test(arguments: [FailureCode.spawnFailed, .template, .cancelled, .interrupted])
    func failuresThatAnotherAttemptCannotFixAreNotRetried(code: FailureCode) throws {
        var run = try Self.run(
            """
            tasks:
              - {name: t, sleep: 1s, retry: {max_attempts: 3, backoff: 1s}}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["t"])
        #expect(try Self.end(&run, "t", Self.failure(code, exit: nil)) == nil)
        #expect(Self.status(run, "t") == (code == .cancelled ? .cancelled : .failed))
        #expect(run.tasks[0].attempts == 1)
    }

    @Test func timeoutIsRetried() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: t, sleep: 1s, retry: {max_attempts: 2, backoff: 1s}}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["t"])
        #expect(try Self.end(&run, "t", Self.failure(.timeout, exit: 143)) != nil)
        #expect(Self.status(run, "t") == .retrying)
    }

    @Test func aTaskWaitingForItsRetryFailsWhenAnotherTaskFails() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: flaky, mode: async, sleep: 1s, retry: {max_attempts: 3, backoff: 10s}}
              - {name: bad, sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["flaky", "bad"])
        try Self.start(&run, ["flaky", "bad"])
        #expect(try Self.end(&run, "flaky", Self.failure()) != nil)
        try Self.end(&run, "bad", Self.failure())
        #expect(Self.advance(&run) == [])
        #expect(Self.status(run, "flaky") == .failed)
        #expect(run.tasks[0].nextAttemptAt == nil)
        #expect(run.record.status == .failed)
        #expect(run.record.error?.task == "bad")
    }

    // MARK: - Stale or unexpected ends

    @Test func anEndForAnOlderAttemptIsIgnored() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: t, sleep: 1s, retry: {max_attempts: 3, backoff: 1s}}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["t"])
        let due = try #require(try Self.end(&run, "t", Self.failure()))
        _ = Self.advance(&run, at: due)
        try Self.start(&run, ["t"], at: due)
        // A late report about attempt 1 must not end attempt 2.
        #expect(run.taskEnded(0, attempt: 1, outcome: Self.success, now: due) == nil)
        #expect(Self.status(run, "t") == .running)
        #expect(run.tasks[0].attempts == 2)
        // Nor may an end arrive for a task that is not running.
        try Self.end(&run, "t", at: due)
        #expect(run.taskEnded(0, attempt: 2, outcome: Self.failure(), now: due) == nil)
        #expect(Self.status(run, "t") == .success)
    }

    @Test func changesAreMarkedDirtyWithTheirEvents() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        #expect(run.dirtyProcess)
        #expect(run.dirtyTasks == [0])
        #expect(run.newEvents.map(\.event) == [.processStarted, .taskStarted])
        #expect(run.newEvents.last?.taskName == "a")
        #expect(run.newEvents.last?.detail?["attempt"] == .integer(1))
        #expect(run.tasks[0].startedAt == Self.t0)
        let later = Self.t0.addingTimeInterval(2)
        let sawEnd = later.addingTimeInterval(-0.5)
        try Self.end(&run, "a", TaskOutcome(exitCode: 0, output: ["k": .string("v")], endedAt: sawEnd), at: later)
        #expect(run.tasks[0].endedAt == sawEnd, "when the executor saw it end, not when it was recorded")
        #expect(run.newEvents.last?.at == sawEnd)
        #expect(run.tasks[0].exitCode == 0)
        #expect(run.tasks[0].output == ["k": .string("v")])
        #expect(run.record.updatedAt == later)
    }

    @Test func anEndSeenBeforeTheRecordedStartIsRecordedAtTheStart() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        // The wall clock stepped back while the task ran.
        try Self.end(&run, "a", TaskOutcome(exitCode: 0, endedAt: Self.t0.addingTimeInterval(-30)))
        #expect(run.tasks[0].endedAt == Self.t0)
        #expect(run.newEvents.last?.event == .taskSucceeded)
        #expect(run.newEvents.last?.at == Self.t0)
    }

    // MARK: - Cancel and timeout

    @Test func cancelStopsRunningTasksAndSkipsTheRest() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, mode: async, sleep: 1s}
              - {name: r, mode: async, sleep: 1s, retry: {max_attempts: 3, backoff: 10s}}
              - {name: b, sleep: 1s}
              - {name: c, sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
            """)
        #expect(Self.advance(&run) == ["a", "r", "b"])
        try Self.start(&run, ["a", "r", "b"])
        _ = try Self.end(&run, "r", Self.failure())
        let toStop = run.requestCancel(Self.t0).map { run.tasks[$0].taskName }
        #expect(Set(toStop) == ["a", "b"])
        #expect(run.cancelRequested)
        #expect(Self.advance(&run) == [])
        #expect(Self.status(run, "c") == .skipped)
        #expect(Self.status(run, "r") == .cancelled)
        #expect(run.record.status == .running)
        try Self.end(&run, "a", Self.failure(.cancelled, exit: 143))
        try Self.end(&run, "b", Self.failure(.cancelled, exit: 143))
        #expect(Self.advance(&run) == [])
        #expect(run.record.status == .cancelled)
        #expect(Self.status(run, "a") == .cancelled)
        #expect(Self.status(run, "cleanup") != .success, "on_failure does not run on cancel")
        #expect(run.tasks[run.index(of: "cleanup")!].attempts == 0)
        #expect(run.requestCancel(Self.t0) == [], "a finished process cannot be cancelled")
    }

    @Test func processTimeoutStopsMainTasksAndRunsOnFailure() throws {
        var run = try Self.run(
            """
            timeout: 1m
            tasks:
              - {name: a, sleep: 1h}
              - {name: b, sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        let late = Self.t0.addingTimeInterval(61)
        let toStop = run.timedOut(late, armedFor: run.startGeneration).map { run.tasks[$0].taskName }
        #expect(toStop == ["a"])
        #expect(run.record.error?.code == .timeout)
        #expect(run.timedOut(late, armedFor: run.startGeneration).isEmpty, "only once")
        try Self.end(&run, "a", Self.failure(.timeout, exit: 143))
        #expect(Self.status(run, "a") == .failed, "a process timeout is not retried")
        #expect(Self.advance(&run) == ["cleanup"])
        #expect(Self.status(run, "b") == .skipped)
        try Self.start(&run, ["cleanup"])
        try Self.end(&run, "cleanup")
        _ = Self.advance(&run)
        #expect(run.record.status == .failed)
        #expect(run.record.error?.code == .timeout)
    }

    @Test func noTimeoutWithoutADefinitionTimeout() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        #expect(run.timedOut(Self.t0.addingTimeInterval(3600), armedFor: run.startGeneration).isEmpty)
        #expect(run.record.error == nil)
    }

    // MARK: - Recovery and retry of a process

    /// A run whose tasks `names` were running when the runner stopped, restored from its rows.
    static func restoredWithRunningTasks(_ yaml: String, _ names: [String]) throws -> ProcessRun {
        var run = try Self.run(yaml)
        _ = Self.advance(&run)
        try Self.start(&run, names)
        return ProcessRun.restore(record: run.record, rows: run.tasks, definition: run.definition, sequence: 1)
    }

    @Test func interruptedIdempotentTaskRunsAgainWithoutUsingAnAttempt() throws {
        // No retry: configured (max_attempts 1). The runner's death is not the task's failure.
        var run = try Self.restoredWithRunningTasks(
            """
            tasks:
              - {name: safe, sleep: 1s}
            """, ["safe"])
        run.interrupted(0, at: Self.t0)
        #expect(Self.status(run, "safe") == .pending)
        #expect(run.record.error == nil)
        #expect(run.newEvents.last?.event == .taskInterrupted)
        #expect(run.tasks[0].retryBase == 1, "the interrupted attempt is not counted")
        // Interrupted again and again: still not counted (the crash-loop guard bounds this).
        for round in 2...4 {
            #expect(Self.advance(&run) == ["safe"])
            try Self.start(&run, ["safe"])
            #expect(run.tasks[0].attempts == round)
            run.interrupted(0, at: Self.t0)
            #expect(Self.status(run, "safe") == .pending)
        }
        #expect(Self.advance(&run) == ["safe"])
        try Self.start(&run, ["safe"])
        // A real failure of this attempt uses the one attempt it has.
        #expect(try Self.end(&run, "safe", Self.failure()) == nil)
        #expect(Self.status(run, "safe") == .failed)
        #expect(run.tasks[0].attempts == 5)
    }

    @Test func interruptedIdempotentTaskKeepsItsWholeRetryBudget() throws {
        var run = try Self.restoredWithRunningTasks(
            """
            tasks:
              - {name: flaky, sleep: 1s, retry: {max_attempts: 2, backoff: 1s}}
            """, ["flaky"])
        run.interrupted(0, at: Self.t0)
        #expect(Self.advance(&run) == ["flaky"])
        try Self.start(&run, ["flaky"])
        #expect(try Self.end(&run, "flaky", Self.failure()) != nil, "first counted attempt failed: one more is left")
        #expect(Self.status(run, "flaky") == .retrying)
    }

    @Test func anAttemptThatEndsResetsTheCrashCount() throws {
        var run = try Self.restoredWithRunningTasks(
            """
            tasks:
              - {name: a, sleep: 1s}
              - {name: b, sleep: 1s}
            """, ["a"])
        run.record.crashCount = 2
        run.interrupted(0, at: Self.t0)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        #expect(run.record.crashCount == 2, "no progress yet")
        try Self.end(&run, "a")
        #expect(run.record.crashCount == 0, "the process moved on: the crashes were not in a row")
        #expect(run.dirtyProcess)
    }

    @Test func interruptedTaskThatIsNotIdempotentFails() throws {
        var run = try Self.restoredWithRunningTasks(
            """
            tasks:
              - {name: once, sleep: 1s, idempotent: false, retry: {max_attempts: 3, backoff: 1s}}
              - {name: later, sleep: 1s}
            """, ["once"])
        run.interrupted(0, at: Self.t0)
        #expect(Self.status(run, "once") == .failed)
        #expect(run.tasks[0].error?.code == .interrupted)
        #expect(run.tasks[0].endedAt != nil)
        #expect(run.record.error?.code == .interrupted)
        #expect(run.record.error?.task == "once")
        #expect(Self.advance(&run) == [])
        #expect(Self.status(run, "later") == .skipped)
        #expect(run.record.status == .failed)
    }

    @Test func interruptedSleepResumesWithTheTimeItHadLeft() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: nap, sleep: 10s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["nap"])
        let end = Self.t0.addingTimeInterval(10)
        #expect(run.tasks[0].sleepUntil == end)
        run = ProcessRun.restore(record: run.record, rows: run.tasks, definition: run.definition, sequence: 1)
        run.interrupted(0, at: Self.t0.addingTimeInterval(4))
        #expect(run.tasks[0].sleepUntil == end, "6 s were left; the end stays where it was")
        // The resumed attempt keeps that end, and so does a second crash during it.
        #expect(Self.advance(&run, at: Self.t0.addingTimeInterval(4)) == ["nap"])
        try Self.start(&run, ["nap"], at: Self.t0.addingTimeInterval(4))
        #expect(run.tasks[0].sleepUntil == end)
        run.interrupted(0, at: Self.t0.addingTimeInterval(6))
        #expect(run.tasks[0].sleepUntil == end)
        // Once it ends, the next start of the task (e.g. after `retry`) sleeps its whole length.
        _ = Self.advance(&run, at: Self.t0.addingTimeInterval(6))
        try Self.start(&run, ["nap"], at: Self.t0.addingTimeInterval(6))
        try Self.end(&run, "nap", at: Self.t0.addingTimeInterval(10))
        #expect(run.tasks[0].sleepUntil == nil)
    }

    @Test func interruptedSleepNeverWaitsLongerThanItsLengthAfterAClockStepBack() throws {
        var run = try Self.restoredWithRunningTasks(
            """
            tasks:
              - {name: nap, sleep: 10s}
            """, ["nap"])
        let restart = Self.t0.addingTimeInterval(-365 * 86400)
        run.interrupted(0, at: restart)
        #expect(run.tasks[0].sleepUntil == restart.addingTimeInterval(10))
    }

    @Test func aRetryWhoseTimerFiredIsDueWhateverTheWallClockSays() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: flaky, sleep: 1s, retry: {max_attempts: 2, backoff: 2s}}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["flaky"])
        #expect(try Self.end(&run, "flaky", Self.failure()) != nil)
        let stepBack = Self.t0.addingTimeInterval(-365 * 86400)
        #expect(Self.advance(&run, at: stepBack) == [], "no timer fired yet: not due")
        run.dueRetries.insert(0)
        #expect(Self.advance(&run, at: stepBack) == ["flaky"], "its monotonic timer fired")
    }

    @Test func aProcessTimeoutTimerOfAnEarlierStartIsStaleWhateverTheWallClockSays() throws {
        var run = try Self.run(
            """
            timeout: 1m
            tasks:
              - {name: a, sleep: 1h}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        let generation = run.startGeneration
        let stepBack = Self.t0.addingTimeInterval(-365 * 86400)
        #expect(run.timedOut(stepBack, armedFor: generation + 1).isEmpty, "a timer of another start")
        #expect(
            run.timedOut(stepBack, armedFor: generation) == [0], "its own timer fires even with the clock stepped back")
        #expect(run.record.error?.code == .timeout)
    }

    @Test func redriveResumesFromUnfinishedTasks() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, sleep: 1s}
              - {name: b, sleep: 1s}
              - {name: c, sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a"])
        try Self.end(&run, "a")
        _ = Self.advance(&run)
        try Self.start(&run, ["b"])
        try Self.end(&run, "b", Self.failure())
        _ = Self.advance(&run)
        try Self.start(&run, ["cleanup"])
        try Self.end(&run, "cleanup")
        _ = Self.advance(&run)
        #expect(run.record.status == .failed)

        run.redrive(Self.t0)
        #expect(run.record.status == .pending)
        #expect(run.record.error == nil && run.record.endedAt == nil)
        #expect(Self.statuses(run) == ["a": .success, "b": .pending, "c": .pending, "cleanup": .pending])
        #expect(run.tasks[1].retryBase == 1)
        #expect(Self.advance(&run) == ["b"], "a succeeded and is not run again")
        try Self.start(&run, ["b"])
        #expect(run.tasks[1].attempts == 2)
        try Self.end(&run, "b")
        #expect(Self.advance(&run) == ["c"])
        try Self.start(&run, ["c"])
        try Self.end(&run, "c")
        _ = Self.advance(&run)
        #expect(run.record.status == .success)
    }

    @Test func crashLoopFailsTheProcessWithoutRunningAnything() throws {
        var run = try Self.run(
            """
            tasks:
              - {name: a, mode: async, sleep: 1s}
              - {name: b, sleep: 1s}
              - {name: c, sleep: 1s}
            on_failure:
              - {name: cleanup, sleep: 1s}
            """)
        _ = Self.advance(&run)
        try Self.start(&run, ["a", "b"])
        try Self.end(&run, "a")
        run.failCrashLoop(Self.t0, crashes: 3)
        #expect(run.record.status == .failed)
        #expect(run.record.error?.code == .crashLoop)
        #expect(Self.statuses(run) == ["a": .success, "b": .failed, "c": .skipped, "cleanup": .skipped])
        #expect(run.tasks[1].error?.code == .crashLoop)
        #expect(Self.advance(&run) == [])
    }
}

/// Each state handed to the store writer is newer, in whole milliseconds, than the one before
/// it: the status reconciler tells a stale status file by `updated_at` alone.
@Suite struct HandOverStampTests {
    @Test func twoStatesWithinOneMillisecondGetDistinctUpdatedAt() throws {
        let t0 = try #require(Timestamp.parse("2026-07-20T15:00:00.123Z")).addingTimeInterval(0.0004)
        var run = try ProcessRunTests.run(
            """
            tasks:
              - name: a
                sleep: 0s
            """)
        run.record.updatedAt = t0
        run.stampForHandOver()
        #expect(Timestamp.string(run.record.updatedAt) == "2026-07-20T15:00:00.123Z")
        run.record.updatedAt = t0.addingTimeInterval(0.0003)  // the same millisecond
        run.stampForHandOver()
        #expect(Timestamp.string(run.record.updatedAt) == "2026-07-20T15:00:00.124Z")
        run.record.updatedAt = t0.addingTimeInterval(0.5)  // later: kept as it is
        run.stampForHandOver()
        #expect(Timestamp.string(run.record.updatedAt) == "2026-07-20T15:00:00.623Z")
    }
}
