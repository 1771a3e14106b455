import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// What a restart after `kill -9` or SIGTERM does (SPEC §6).
@Suite(.endToEnd) struct RecoveryTests {
    @Test func interruptedIdempotentTaskRunsAgainAndItsLeftoverIsKilledFirst() async throws {
        // No retry: configured. The runner's death is not the task's failure (SPEC §6).
        let spool = try TemporarySpool()
        try spool.define(
            "resumable.yaml",
            """
            tasks:
              - name: before
                shell: 'echo before >> runs.log'
              - name: slow
                shell: 'echo "slow $SPOOL_ATTEMPT" >> runs.log; if [ "$SPOOL_ATTEMPT" = 1 ]; then sleep 30; fi'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("k1", #"{"process_type": "resumable"}"#)
        // Its shell really runs (the start is recorded, and the status file says `running`,
        // just before the spawn).
        #expect(await spool.eventually { spool.workFile("k1", "runs.log")?.contains("slow 1") ?? false })
        runner.signal(SIGKILL)
        _ = await runner.wait()
        // The first attempt's shell is still running, orphaned.
        let workEnvironment = "SPOOL_WORK_DIR=\(spool.layout.workDirectory("k1"))"
        #expect(!ProcessInspector.processes(withEnvironment: [workEnvironment]).isEmpty)

        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0, "\(result.standardError)")
        let status = try #require(spool.status("k1"))
        #expect(status.status == .success)
        #expect(status.tasks.map(\.attempts) == [1, 2])
        let runs = try String(contentsOfFile: spool.layout.workDirectory("k1") + "/runs.log", encoding: .utf8)
        #expect(runs == "before\nslow 1\nslow 2\n")
        #expect(ProcessInspector.processes(withEnvironment: [workEnvironment]).isEmpty)
        let events = try await spool.run(["events", "k1"]).standardOutput
        #expect(events.contains("task_interrupted"))
    }

    @Test func interruptedNonIdempotentTaskFailsInterrupted() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "once_only.yaml",
            """
            tasks:
              - name: pay
                idempotent: false
                retry: {max_attempts: 3, backoff: 10ms}
                shell: 'echo paid >> runs.log; sleep 30'
            on_failure:
              - name: alert
                shell: 'echo alert >> runs.log'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("n1", #"{"process_type": "once_only"}"#)
        #expect(await spool.eventually { spool.status("n1")?.tasks.first?.status == .running })
        try await Task.sleep(for: .milliseconds(100))
        runner.signal(SIGKILL)
        _ = await runner.wait()
        try await spool.run(["serve", "--once"])
        let status = try #require(spool.status("n1"))
        #expect(status.status == .failed)
        #expect(status.error?.code == "interrupted")
        #expect(status.tasks.first?.error?.code == "interrupted")
        #expect(status.tasks.map(\.taskName) == ["pay", "alert"])
        let runs = try String(contentsOfFile: spool.layout.workDirectory("n1") + "/runs.log", encoding: .utf8)
        #expect(runs == "paid\nalert\n")
    }

    @Test func retryTimerSurvivesARestart() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "patient.yaml",
            """
            tasks:
              - name: wait_for_it
                shell: '[ "$SPOOL_ATTEMPT" -ge 2 ]'
                retry: {max_attempts: 2, backoff: 3s, max_backoff: 3s}
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("t1", #"{"process_type": "patient"}"#)
        #expect(await spool.eventually { spool.status("t1")?.tasks.first?.status == .retrying })
        runner.signal(SIGKILL)
        _ = await runner.wait()
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let due = try #require(
            try await queue.read { db in
                try String.fetchOne(db, sql: "SELECT next_attempt_at FROM tasks WHERE process_id = 't1'")
            })
        try await spool.run(["serve", "--once"])
        let status = try #require(spool.status("t1"))
        #expect(status.status == .success)
        #expect(status.tasks.first?.attempts == 2)
        // The second attempt waited for the stored due time instead of running at once.
        let started = try #require(status.tasks.first?.startedAt)
        #expect(started >= due, "started \(started), due \(due)")
    }

    @Test func statusFilesAreRewrittenAfterACrash() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 10ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("w1", #"{"process_type": "nap"}"#)
        #expect(await spool.eventually { spool.status("w1")?.status == .success })
        runner.signal(SIGKILL)
        _ = await runner.wait()
        try FileManager.default.removeItem(atPath: spool.layout.statusFile("w1"))
        try await spool.run(["serve", "--once"])
        #expect(spool.status("w1")?.status == .success)
    }

    @Test func statusFilesAreRewrittenAfterSeveralCrashesInARow() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 10ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("w2", #"{"process_type": "nap"}"#)
        #expect(await spool.eventually { spool.status("w2")?.status == .success })
        runner.signal(SIGKILL)
        _ = await runner.wait()
        // As if its status file had never been written, and a second runner had then died
        // during its own recovery, before rewriting it.
        try FileManager.default.removeItem(atPath: spool.layout.statusFile("w2"))
        try await Task.sleep(for: .milliseconds(5))
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO runner_sessions (pid, version, started_at, clean_exit) VALUES (1, 'test', ?, 0)",
                arguments: [Timestamp.now()])
        }
        try await spool.run(["serve", "--once"])
        #expect(spool.status("w2")?.status == .success)
    }

    @Test func processRunningDuringTheCrashLoopLimitOfCrashesInARowFailsWithCrashLoop() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "poison.yaml",
            """
            tasks:
              - name: hang
                shell: 'sleep 30'
                retry: {max_attempts: 10, backoff: 10ms}
            """)
        try spool.define("fine.yaml", "tasks:\n  - name: ok\n    sleep: 10ms\n")
        try spool.drop("poison1", #"{"process_type": "poison"}"#)
        for crash in 1...ProcessEngine.crashLoopLimit {
            let runner = try spool.start(["serve", "--rescan", "100ms"])
            #expect(
                await spool.eventually {
                    spool.status("poison1")?.tasks.first.map { $0.status == .running && $0.attempts == crash } ?? false
                })
            runner.signal(SIGKILL)
            _ = await runner.wait()
        }
        try spool.drop("fine1", #"{"process_type": "fine"}"#)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0)
        let status = try #require(spool.status("poison1"))
        #expect(status.status == .failed)
        #expect(status.error?.code == "crash_loop")
        #expect(spool.status("fine1")?.status == .success)
        #expect(
            ProcessInspector.processes(withEnvironment: ["SPOOL_WORK_DIR=\(spool.layout.workDirectory("poison1"))"])
                .isEmpty)
    }

    @Test func sigtermLetsRunningTasksFinishAndExitsZero() async throws {
        let spool = try TemporarySpool()
        try spool.define("steady.yaml", "tasks:\n  - name: steady\n    shell: 'sleep 1; echo done'\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("g1", #"{"process_type": "steady"}"#)
        #expect(await spool.eventually { spool.status("g1")?.tasks.first?.status == .running })
        runner.signal(SIGTERM)
        let result = await runner.wait()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("g1")?.status == .success)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let clean = try await queue.read { db in
            try Bool.fetchOne(db, sql: "SELECT clean_exit FROM runner_sessions ORDER BY id DESC LIMIT 1")
        }
        #expect(clean == true)
    }

    @Test func sigtermAfterGraceStopsTasksAndTheNextStartResumesThem() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "endless.yaml",
            """
            tasks:
              - name: endless
                shell: 'echo "run $SPOOL_ATTEMPT" >> runs.log; if [ "$SPOOL_ATTEMPT" = 1 ]; then sleep 30; fi'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms", "--grace", "300ms"])
        try spool.drop("e1", #"{"process_type": "endless"}"#)
        #expect(await spool.eventually { spool.status("e1")?.tasks.first?.status == .running })
        let asked = Date()
        runner.signal(SIGTERM)
        let result = await runner.wait()
        #expect(result.status == 0)
        #expect(Date().timeIntervalSince(asked) < 10)
        try await spool.run(["serve", "--once"])
        let status = try #require(spool.status("e1"))
        #expect(status.status == .success)
        #expect(status.tasks.first?.attempts == 2)
    }

    @Test func aReaderHoldingTheDatabaseDoesNotStopTheRunner() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        try await spool.run(["serve", "--once"])  // creates the store
        // Like an `sqlite3` shell left in the middle of a read transaction.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: spool.layout.defaultDatabase, configuration: configuration)
        try reader.inDatabase { db in
            try db.beginTransaction(.deferred)
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM processes")
        }
        for index in 0..<30 { try spool.drop("h\(index)", #"{"process_type": "nap"}"#) }
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0, "\(result.standardError)")
        for index in 0..<30 { #expect(spool.status("h\(index)")?.status == .success) }
        try reader.inDatabase { db in try db.rollback() }
    }
}
