import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

@Suite("The reaper: a dead runner's processes taken over under SPEC §6")
struct ReaperTests {
    static let yaml = """
        tasks:
          - name: done
            run: ["/bin/true"]
          - name: redo
            run: ["/bin/true"]
          - name: once
            run: ["/bin/true"]
            idempotent: false
        """

    static func request(_ id: String, second: Int) -> StoredRequest {
        var request = testRequest(id, type: "reaped", second: second)
        request.definitionYAML = yaml
        request.tasks = ["done", "redo", "once"].enumerated().map {
            StoredRequest.Task(taskName: $1, position: $0, mode: "sync")
        }
        return request
    }

    static func task(_ name: String, _ position: Int, _ status: String, attempts: Int = 1) -> ProcessTransition.Task {
        ProcessTransition.Task(
            taskName: name, position: position, mode: "sync", status: status, attempts: attempts,
            startedAt: "2026-11-30T06:02:00.000Z", endedAt: status == "success" ? "2026-11-30T06:02:01.000Z" : nil,
            exitCode: status == "success" ? 0 : nil, pid: status == "running" ? 4_100_000 : nil,
            pidStartTicks: status == "running" ? 9 : nil)
    }

    @Test("what succeeded stays; running idempotent runs again; running non-idempotent ends interrupted; crash loop")
    func takeover() async throws {
        try await withStores("reaper", count: 2) { stores in
            let (dead, leader) = (stores[0], stores[1])
            let deadLease = try await dead.registerTestRunner()
            let leaderLease = try await leader.registerTestRunner()
            for (index, id) in ["p1", "p2", "p3"].enumerated() {
                _ = try await dead.accept(
                    Self.request(id, second: index), fileName: id, claimIfCapacity: true, lease: deadLease)
            }
            let running = ProcessTransition.Process(
                status: "running", startedAt: "2026-11-30T06:02:00.000Z", updatedAt: "2026-11-30T06:02:01.000Z")
            var nearLoop = running
            nearLoop.crashCount = 3
            let committed = try await dead.commit(
                [
                    ProcessTransition(
                        processID: "p1", leaseEpoch: 1, process: running,
                        tasks: [Self.task("done", 0, "success"), Self.task("redo", 1, "running")]),
                    ProcessTransition(
                        processID: "p2", leaseEpoch: 1, process: running,
                        tasks: [
                            Self.task("done", 0, "success"), Self.task("redo", 1, "success"),
                            Self.task("once", 2, "running"),
                        ]),
                    ProcessTransition(
                        processID: "p3", leaseEpoch: 1, process: nearLoop, tasks: [Self.task("done", 0, "running")]),
                ], lease: deadLease)
            #expect(committed.committed == ["p1", "p2", "p3"])

            // Nothing to reap while the lease runs.
            let now = Date()
            let early = try await leader.reapExpiredRunners(at: "2026-11-30T06:03:00.000Z") {
                try EngineRecovery.recover($0, at: now)
            }
            #expect(early == PostgresStore.ReapReport(deadRunners: [], takenOver: []))

            // The lease ran out more than the grace ago: the runner is dead, its work taken over.
            try await leader.execute(
                "UPDATE runners SET expires_at = now() - interval '10 seconds' WHERE runner_id = 'runner-0'")
            let report = try await leader.reapExpiredRunners(at: "2026-11-30T06:03:00.000Z") {
                try EngineRecovery.recover($0, at: now)
            }
            #expect(report == PostgresStore.ReapReport(deadRunners: ["runner-0"], takenOver: ["p1", "p2", "p3"]))
            #expect(
                try await leader.value("SELECT state FROM runners WHERE runner_id = 'runner-0'", as: String.self)
                    == "dead")

            func taskStatus(_ process: String, _ task: String) async throws -> String? {
                try await leader.value(
                    "SELECT status FROM tasks WHERE process_id = \(process) AND task_name = \(task)", as: String.self)
            }
            // p1: the succeeded task stays; the running idempotent one runs again.
            #expect(try await taskStatus("p1", "done") == "success")
            #expect(try await taskStatus("p1", "redo") == "pending")
            #expect(
                try await leader.value(
                    "SELECT retry_base::int8 FROM tasks WHERE process_id = 'p1' AND task_name = 'redo'", as: Int64.self)
                    == 1)
            // p2: the running non-idempotent task ends interrupted, never run again.
            #expect(try await taskStatus("p2", "once") == "failed")
            #expect(
                try await leader.value(
                    "SELECT error_json->>'code' FROM tasks WHERE process_id = 'p2' AND task_name = 'once'",
                    as: String.self) == "interrupted")
            // p3: the fourth death in a row with a task running: crash_loop.
            #expect(
                try await leader.value("SELECT status FROM processes WHERE process_id = 'p3'", as: String.self)
                    == "failed")
            #expect(
                try await leader.value(
                    "SELECT error_json->>'code' FROM processes WHERE process_id = 'p3'", as: String.self)
                    == "crash_loop")
            // Every one: unowned, fenced, counted, with a taken_over event naming the old runner.
            #expect(
                try await leader.value("SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL", as: Int64.self)
                    == 0)
            #expect(try await leader.values("SELECT DISTINCT lease_epoch FROM processes", as: Int64.self) == [2])
            #expect(try await leader.values("SELECT DISTINCT takeovers::int8 FROM processes", as: Int64.self) == [1])
            #expect(
                try await leader.values(
                    """
                    SELECT DISTINCT detail_json->>'previous_runner' FROM events WHERE event = 'taken_over'
                    """, as: String.self) == ["runner-0"])
            #expect(
                try await leader.values("SELECT event FROM events WHERE process_id = 'p2' ORDER BY id", as: String.self)
                    == ["accepted", "task_interrupted", "recovered", "taken_over"])

            // The dead runner's late write changes nothing.
            let late = try await dead.commit(
                [ProcessTransition(processID: "p1", leaseEpoch: 1, tasks: [Self.task("redo", 1, "success")])],
                lease: deadLease)
            #expect(late.lost == ["p1"])
            #expect(try await taskStatus("p1", "redo") == "pending")

            // Another runner continues the unfinished ones.
            #expect(try await leader.claim(limit: 5, lease: leaderLease).map(\.processID) == ["p1", "p2"])
            // A second pass finds nothing more.
            let again = try await leader.reapExpiredRunners(at: "2026-11-30T06:04:00.000Z") {
                try EngineRecovery.recover($0, at: now)
            }
            #expect(again == PostgresStore.ReapReport(deadRunners: [], takenOver: []))
        }
    }
}
