import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The engine's own decisions (ordering, retry backoff, process timeout, cancel, the shutdown
/// grace) on the real engine, store and status writer, with a fake executor the test ends
/// attempts with and a clock the test moves: an hour's timeout is checked in milliseconds, and
/// nothing depends on how fast a child process starts.
@Suite(.endToEnd) struct EngineDecisionTests {
    /// The engine configured with `clock` and `executor` (and `grace`, when given).
    static func configure(_ clock: ManualClock, _ executor: FakeTaskExecutor, grace: Duration? = nil)
        -> (inout EngineConfiguration) -> Void
    {
        { configuration in
            configuration.clock = clock.engineClock
            configuration.taskExecutor = { _ in executor }
            if let grace { configuration.grace = grace }
        }
    }

    static func spool(_ yaml: String) throws -> TemporarySpool {
        let spool = try TemporarySpool()
        try spool.define("flow.yaml", yaml)
        return spool
    }

    @Test func aNeededTaskStartsOnlyOnceTheTaskItNeedsHasEnded() async throws {
        let spool = try Self.spool(
            """
            tasks:
              - name: first
                mode: async
                shell: 'true'
              - name: beside
                mode: async
                shell: 'true'
              - name: after
                mode: async
                needs: [first]
                shell: 'true'
            """)
        let clock = ManualClock()
        let executor = FakeTaskExecutor { clock.now }
        try await withEngine(spool, configure: Self.configure(clock, executor)) { engine in
            try engine.drop("p1", #"{"process_type": "flow"}"#)
            #expect(await executor.waitUntilStarted("p1", "first"))
            #expect(await executor.waitUntilStarted("p1", "beside"))
            // `after` waits for `first` however long it takes, and not for `beside`.
            #expect(await engine.eventually { engine.status("p1")?.tasks.first?.status == .running })
            #expect(!executor.started.contains { $0.task == "after" })
            executor.succeed("p1", "first", output: ["n": .integer(1)])
            #expect(await executor.waitUntilStarted("p1", "after"))
            #expect(engine.status("p1")?.status == .running)
            executor.succeed("p1", "after")
            executor.succeed("p1", "beside")
            #expect(await engine.eventually { engine.status("p1")?.status == .success })
            let status = try #require(engine.status("p1"))
            #expect(try status.task("first").output == ["n": .integer(1)])
            #expect(executor.started.map(\.task).suffix(1) == ["after"])
        }
    }

    @Test func aRetryWaitsItsBackoffOnTheEngineClock() async throws {
        let spool = try Self.spool(
            """
            tasks:
              - name: flaky
                shell: 'true'
                retry: {max_attempts: 3, backoff: 10m, max_backoff: 1h}
            """)
        let clock = ManualClock()
        let executor = FakeTaskExecutor { clock.now }
        try await withEngine(spool, configure: Self.configure(clock, executor)) { engine in
            try engine.drop("p1", #"{"process_type": "flow"}"#)
            #expect(await executor.waitUntilStarted("p1", "flaky"))
            executor.fail("p1", "flaky", exitCode: 3)
            #expect(await engine.eventually { engine.status("p1")?.tasks.first?.status == .retrying })
            #expect(await clock.waitForTimers(1, atLeast: .seconds(60)), "no retry timer armed")
            // The wait is 10m with equal jitter: between 5m and 10m. Before 5m nothing is due.
            clock.advance(by: .seconds(299))
            try await Task.sleep(for: .milliseconds(100))
            #expect(clock.pendingTimers(atLeast: .seconds(60)) == 1, "the retry fired before its backoff")
            #expect(executor.started.count == 1)
            #expect(engine.status("p1")?.tasks.first?.status == .retrying)
            clock.advance(by: .seconds(301))
            #expect(await executor.waitUntilStarted("p1", "flaky", attempt: 2))
            executor.succeed("p1", "flaky", attempt: 2)
            #expect(await engine.eventually { engine.status("p1")?.status == .success })
            let task = try #require(engine.status("p1")).tasks[0]
            #expect(task.attempts == 2)
            // The recorded times are the engine clock's: the second attempt started 5-10 minutes
            // after the first ended.
            let events = try spool.eventNames("p1").filter { $0.hasPrefix("flaky:") }
            #expect(
                events == ["flaky:task_started", "flaky:task_retrying", "flaky:task_started", "flaky:task_succeeded"])
            let ended = try instant(task.endedAt)
            #expect(ended.timeIntervalSince(try instant(engine.status("p1")?.startedAt)) >= 300)
        }
    }

    @Test func aProcessTimeoutOfAnHourStopsItsRunningTasksWhenTheClockGetsThere() async throws {
        let spool = try Self.spool(
            """
            timeout: 1h
            tasks:
              - name: long
                shell: 'true'
              - name: next
                shell: 'true'
            on_failure:
              - name: cleanup
                shell: 'true'
            """)
        let clock = ManualClock()
        let executor = FakeTaskExecutor { clock.now }
        try await withEngine(spool, configure: Self.configure(clock, executor)) { engine in
            try engine.drop("p1", #"{"process_type": "flow"}"#)
            #expect(await executor.waitUntilStarted("p1", "long"))
            #expect(await clock.waitForTimers(1, atLeast: .seconds(60)), "no process timeout armed")
            // The status file is written after the commit, off the engine: wait for it here, so
            // the read below (100 ms after the move) never races its first write on a busy machine.
            #expect(await engine.eventually { engine.status("p1")?.status == .running })
            clock.advance(by: .seconds(3599))
            try await Task.sleep(for: .milliseconds(100))
            #expect(executor.stopReason("p1", "long") == nil, "stopped before its hour")
            #expect(engine.status("p1")?.status == .running)
            clock.advance(by: .seconds(1))
            #expect(await executor.waitUntilStarted("p1", "cleanup"))
            #expect(executor.stopReason("p1", "long") == .processTimeout)
            executor.succeed("p1", "cleanup")
            #expect(await engine.eventually { engine.status("p1")?.status == .failed })
            let status = try #require(engine.status("p1"))
            #expect(status.error?.code == "timeout")
            #expect(try status.task("long").error?.code == "timeout")
            #expect(try status.task("next").status == .skipped)
            #expect(try status.task("cleanup").status == .success)
            #expect(!executor.started.contains { $0.task == "next" })
        }
    }

    @Test func cancelStopsTheRunningAttemptAndSkipsTheRest() async throws {
        let spool = try Self.spool(
            """
            tasks:
              - name: first
                shell: 'true'
              - name: second
                shell: 'true'
            """)
        let clock = ManualClock()
        let executor = FakeTaskExecutor { clock.now }
        try await withEngine(spool, configure: Self.configure(clock, executor)) { engine in
            try engine.drop("c1", #"{"process_type": "flow"}"#)
            #expect(await executor.waitUntilStarted("c1", "first"))
            try engine.control(.cancel, "c1")
            // The client links the message into control/, then unlinks its tmp/ name: inotify
            // sees the first step only, and the engine waits for a file with one name. The
            // rescan (on the engine clock, 100 ms in the harness) takes it once it is whole.
            clock.advance(by: .milliseconds(100))
            #expect(await engine.eventually { engine.status("c1")?.status == .cancelled })
            #expect(executor.stopReason("c1", "first") == .cancelled)
            let status = try #require(engine.status("c1"))
            #expect(status.tasks.map(\.status) == [.cancelled, .skipped])
            #expect(status.error?.code == "cancelled")
            #expect(executor.started.map(\.task) == ["first"])
        }
    }

    /// A graceful shutdown takes no new request and starts no new task; a running attempt may
    /// finish within the grace, and one still running when the grace ends (on the engine clock)
    /// is stopped and left `running` in the store for the next start to resume.
    @Test func theGraceEndsOnTheEngineClockAndStopsWhatStillRuns() async throws {
        let spool = try Self.spool(
            """
            tasks:
              - name: quick
                mode: async
                shell: 'true'
              - name: slow
                mode: async
                shell: 'true'
              - name: later
                needs: [quick]
                shell: 'true'
            """)
        let clock = ManualClock()
        let executor = FakeTaskExecutor { clock.now }
        let configure = Self.configure(clock, executor, grace: .seconds(600))
        try await withEngine(spool, configure: configure) { engine in
            try engine.drop("g1", #"{"process_type": "flow"}"#)
            #expect(await executor.waitUntilStarted("g1", "quick"))
            #expect(await executor.waitUntilStarted("g1", "slow"))
            await engine.shutdown()
            #expect(await clock.waitForTimers(1, atLeast: .seconds(60)), "no grace timer armed")
            // Within the grace: an attempt may finish, but what it unblocks does not start.
            executor.succeed("g1", "quick")
            #expect(await engine.eventually { engine.status("g1")?.tasks.first?.status == .success })
            try engine.drop("g2", #"{"process_type": "flow"}"#)
            try await Task.sleep(for: .milliseconds(300))
            #expect(!executor.started.contains { $0.task == "later" || $0.processID == "g2" })
            #expect(executor.stopReason("g1", "slow") == nil)
            clock.advance(by: .seconds(600))
            #expect(await engine.eventually { executor.stopReason("g1", "slow") == .shutdown })
        }
        // After the group: the engine recorded what it had and stopped.
        #expect(spool.status("g1")?.status == .running)
        #expect(spool.status("g1")?.tasks.first { $0.taskName == "slow" }?.status == .running)
        #expect(spool.inboxFiles() == ["g2.json"])
        #expect(try spool.processRowCount("g2") == 0)
    }
}
