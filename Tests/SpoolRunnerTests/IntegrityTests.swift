import Foundation
import GRDB
import Synchronization
import Testing

@testable import SpoolRunner
@testable import SpoolStore

/// Status files are always whole, valid JSON (SPEC §4) and a projection of the history store;
/// the store stays consistent (SPEC §7); `runner.json` describes the running runner (SPEC §2).
@Suite(.endToEnd) struct IntegrityTests {
    static let busy = """
        tasks:
          - name: a
            shell: 'echo "{\\"step\\": 1}"'
          - name: fan1
            mode: async
            sleep: 30ms
          - name: fan2
            mode: async
            shell: 'sleep 0.05; [ "$SPOOL_ATTEMPT" -ge 2 ]'
            retry: {max_attempts: 2, backoff: 20ms}
          - name: fan3
            mode: async
            sleep: 20ms
          - name: join
            needs: [fan1, fan2, fan3]
            shell: 'true'
          - name: tail
            sleep: 10ms
        """

    /// Reads every status file over and over from another thread while the runner works.
    final class Reader: Sendable {
        let stop = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let problems = Mutex<[String]>([])
        let done = Atomic<Bool>(false)

        init(outbox: String) {
            Thread { [self] in
                while !stop.load(ordering: .sequentiallyConsistent) {
                    for name in (try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []
                    where name.hasSuffix(".json") {
                        guard let data = FileManager.default.contents(atPath: "\(outbox)/\(name)") else { continue }
                        reads.add(1, ordering: .relaxed)
                        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                        if object == nil || (try? JSONDecoder().decode(StatusDocument.self, from: data)) == nil {
                            let text = String(decoding: data, as: UTF8.self)
                            problems.withLock { $0.append("\(name): \(text.prefix(200))") }
                        }
                    }
                }
                done.store(true, ordering: .sequentiallyConsistent)
            }.start()
        }

        func finish() async {
            stop.store(true, ordering: .sequentiallyConsistent)
            while !done.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func statusFilesAreAlwaysValidJSONAndMatchTheStore() async throws {
        let spool = try TemporarySpool()
        try spool.define("busy.yaml", Self.busy)
        try spool.define(
            "doomed.yaml",
            """
            tasks:
              - name: fall
                shell: 'sleep 0.05; exit 2'
              - name: never
                shell: 'true'
            on_failure:
              - name: undo
                sleep: 10ms
            """)
        let reader = Reader(outbox: spool.layout.outbox)
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {
            let ids = (1...12).map { String(format: "i%02d", $0) }
            for (index, id) in ids.enumerated() {
                try spool.drop(id, index % 4 == 3 ? #"{"process_type": "doomed"}"# : #"{"process_type": "busy"}"#)
                try await Task.sleep(for: .milliseconds(20))
            }
            let ended = await spool.eventually(timeout: 60) {
                ids.allSatisfy { spool.status($0)?.status.isFinal == true }
            }
            runner.signal(SIGTERM)
            let result = await runner.wait(timeout: 30)
            await reader.finish()
            #expect(ended)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(reader.problems.withLock { $0 }.isEmpty, "\(reader.problems.withLock { $0 })")
            #expect(reader.reads.load(ordering: .relaxed) > ids.count)

            // Only status files in outbox/: no temp file left behind.
            let outbox = try FileManager.default.contentsOfDirectory(atPath: spool.layout.outbox).filter {
                $0 != ".gitkeep"
            }.sorted()
            #expect(outbox == ids.map { "\($0).json" })

            // Each status file is the store's rows.
            for id in ids {
                let status = try #require(spool.status(id))
                #expect(
                    status.status
                        == (id.hasSuffix("4") || id.hasSuffix("8") || id.hasSuffix("12") ? .failed : .success),
                    "\(id)")
                let (process, tasks) = try spool.history { db in
                    (
                        try Row.fetchOne(
                            db,
                            sql: "SELECT status, created_at, started_at, ended_at FROM processes WHERE process_id = ?",
                            arguments: [id]),
                        try Row.fetchAll(
                            db,
                            sql:
                                "SELECT task_name, status, attempts, started_at, ended_at FROM tasks WHERE process_id = ? ORDER BY position",
                            arguments: [id])
                    )
                }
                let row = try #require(process)
                #expect(row["status"] == status.status.rawValue)
                #expect(row["created_at"] == status.createdAt)
                #expect(row["started_at"] == status.startedAt)
                #expect(row["ended_at"] == status.endedAt)
                let listed = tasks.filter { row in status.tasks.contains { $0.taskName == row["task_name"] } }
                #expect(listed.map { $0["task_name"] as String } == status.tasks.map(\.taskName))
                for (row, task) in zip(listed, status.tasks) {
                    #expect(row["status"] == task.status.rawValue, "\(id)/\(task.taskName)")
                    #expect(row["attempts"] == task.attempts, "\(id)/\(task.taskName)")
                    #expect(row["started_at"] == task.startedAt, "\(id)/\(task.taskName)")
                    #expect(row["ended_at"] == task.endedAt, "\(id)/\(task.taskName)")
                }
            }
            #expect(try spool.integrityCheck() == "ok")
        }
    }

    @Test func storeIsConsistentAfterManyRuns() async throws {
        let spool = try TemporarySpool()
        try spool.define("busy.yaml", Self.busy)
        for round in 0..<3 {
            for index in 0..<8 { try spool.drop("r\(round)-\(index)", #"{"process_type": "busy"}"#) }
            try spool.writeInbox("junk\(round).json", "[]")
            #expect(try await spool.serveOnce().status == 0)
        }
        let (integrity, foreignKeys, journal, version, processes, events) = try spool.history { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"),
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA user_version"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processes WHERE status = 'success'"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE event = 'accepted'")
            )
        }
        #expect(integrity == "ok")
        #expect(foreignKeys.isEmpty)
        #expect(journal?.lowercased() == "wal")
        #expect(version == HistoryMigrator.currentVersion)
        #expect(processes == 24)
        #expect(events == 24)
        #expect(try spool.rejectionRows().count == 3)
        // The request body is kept verbatim.
        let stored = try spool.history { db in
            try String.fetchOne(db, sql: "SELECT request_json FROM processes WHERE process_id = 'r0-0'")
        }
        #expect(stored == #"{"process_type": "busy"}"#)
    }

    @Test func onceTakesEveryRequestOfABurst() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "quick.yaml",
            """
            tasks:
              - name: a
                sleep: 1ms
            """)
        let ids = (0..<400).map { String(format: "b%03d", $0) }
        for id in ids { try spool.drop(id, #"{"process_type": "quick"}"#) }
        let result = try await spool.serveOnce(timeout: 60)
        #expect(result.status == 0, "\(result.standardError.suffix(500))")
        #expect(spool.inboxFiles().isEmpty)
        let unfinished = ids.filter { id in spool.status(id)?.status != .success }
        #expect(unfinished.isEmpty, "\(unfinished.prefix(10))")
        let (processes, accepted) = try spool.history { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processes WHERE status = 'success'"),
                try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT process_id) FROM events WHERE event = 'accepted'")
            )
        }
        #expect(processes == ids.count)
        #expect(accepted == ids.count)
    }

    @Test func heartbeatDescribesTheRunner() async throws {
        let spool = try TemporarySpool()
        try spool.define("busy.yaml", Self.busy)
        try spool.define("broken.yaml", "tasks: 5\n")
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {
            #expect(
                await spool.eventually(timeout: 20) {
                    TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile) != nil
                })
            let heartbeat = try #require(TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile))
            #expect(heartbeat["pid"] as? Int == Int(runner.pid))
            #expect(heartbeat["version"] as? String != nil)
            _ = try instant(heartbeat["started_at"] as? String)
            _ = try instant(heartbeat["updated_at"] as? String)
            let counts = try #require(heartbeat["counts"] as? [String: Any])
            for key in ["inbox_backlog", "running_processes", "running_tasks"] {
                #expect(counts[key] is Int, "\(key) missing in \(counts)")
            }
            let errors = try #require(heartbeat["definition_errors"] as? [String])
            #expect(errors.contains { $0.contains("broken.yaml") })
            runner.signal(SIGTERM)
            #expect(await runner.wait(timeout: 30).status == 0)
        }
    }

    /// SPEC §4: `tasks` lists the definition's tasks, "then any on_failure tasks that ran".
    @Test func onFailureTasksThatNeverRanAreNotListedAfterACancel() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "long.yaml",
            """
            tasks:
              - name: wait
                shell: 'sleep 30'
              - name: next
                shell: 'true'
            on_failure:
              - name: cleanup
                shell: 'touch cleanup.ran'
            """)
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {
            try spool.drop("c1", #"{"process_type": "long"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("c1")?.tasks.first?.status == .running })
            let cancel = try await spool.run(["cancel", "c1"])
            #expect(cancel.status == 0, "\(cancel.standardError)")
            #expect(await spool.eventually(timeout: 20) { spool.status("c1")?.status == .cancelled })
            runner.signal(SIGTERM)
            #expect(await runner.wait(timeout: 30).status == 0)

            let status = try #require(spool.status("c1"))
            #expect(spool.workFile("c1", "cleanup.ran") == nil, "on_failure does not run on cancel")
            #expect(
                status.tasks.map(\.taskName) == ["wait", "next"],
                "\(status.tasks.map { "\($0.taskName): \($0.status)" })")
            #expect(status.tasks.map(\.status) == [.cancelled, .skipped])
        }
    }
}
