import Foundation
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// `spoolrunner cancel|retry ID --store URL`: the real binary against the test server, from a
/// directory with no spool and no runner (SPEC §9, "Cancel and retry from any host").
@Suite("cancel and retry through the PostgreSQL store")
struct StoreControlTests {
    @Test("unowned processes are cancelled and retried in the store; an owned one is flagged for its runner")
    func cancelAndRetryWithoutARunner() async throws {
        let empty = NSTemporaryDirectory() + "no-spool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try await withStore(.postgres, "store_control") { sut in
            let postgres = try #require(sut.postgres)
            _ = try await sut.store.commit(
                StoreBatch(
                    changes: ["pend", "held", "done", "bad", "mid"].enumerated().map {
                        Fixture.accepted($1, created: Double($0))
                    }))
            _ = try await sut.store.commit(
                StoreBatch(changes: [
                    Fixture.ended("done", created: 2, ended: 9, status: .success),
                    Fixture.ended("bad", created: 3, ended: 10, status: .failed),
                    Fixture.running("mid", created: 4, started: 5, states: ["done": .success, "redo": .running]),
                ]))
            // "pend" and "mid" handed to the fleet (unowned); "held" stays this runner's.
            try await postgres.release(["pend", "mid"])
            let url = StoreCommandsTests.urlText(postgres.url)
            func run(_ arguments: [String]) async throws -> RunnersTests.Result {
                let result = try await RunnersTests.spoolrunner(arguments + ["--store", url], directory: empty)
                #expect(!result.output.contains("hunter2") && !result.error.contains("hunter2"), "\(arguments)")
                return result
            }
            func status(_ id: String) async throws -> String? {
                try await postgres.value("SELECT status FROM processes WHERE process_id = \(id)")
            }
            func taskStatuses(_ id: String) async throws -> [String] {
                try await postgres.values("SELECT status FROM tasks WHERE process_id = \(id) ORDER BY position")
            }

            // Unowned, pending: cancelled in the store, by the engine's own rule.
            let cancelled = try await run(["cancel", "pend"])
            #expect(cancelled.status == 0, "\(cancelled.error)")
            #expect(cancelled.output.contains("pend cancelled"), "\(cancelled.output)")
            #expect(try await status("pend") == "cancelled")
            #expect(try await taskStatuses("pend") == ["skipped", "skipped", "skipped", "skipped"])
            let events: [String] = try await postgres.values(
                "SELECT event || ' ' || runner_id FROM events WHERE process_id = 'pend' AND event <> 'accepted' ORDER BY id"
            )
            let cli = "cli/\(ProcessInfo.processInfo.hostName)"
            #expect(
                events.first == "cancel_requested \(cli)" && events.last == "process_cancelled \(cli)", "\(events)")
            let stored = try #require(try await sut.store.snapshot("pend"))
            #expect(stored.record.error?.code == .cancelled)

            // Owned: flagged, the holder told; its next commit sees it. Nothing else changes.
            let asked = try await run(["cancel", "held"])
            #expect(asked.status == 0, "\(asked.error)")
            #expect(asked.output.contains("runner \(postgres.runnerID) holds it"), "\(asked.output)")
            #expect(try await status("held") == "pending")
            let outcome = try await sut.store.commit(
                StoreBatch(changes: [Fixture.running("held", created: 1, started: 6, states: ["done": .running])]))
            #expect(outcome.cancelRequested == ["held"] && outcome.lost.isEmpty)

            // Unowned with a task recorded running (its runner stopped at the end of a grace):
            // the cancel is recorded; the runner that claims it next ends it.
            let recorded = try await run(["cancel", "mid"])
            #expect(recorded.status == 0, "\(recorded.error)")
            #expect(recorded.output.contains("cancel recorded for mid"), "\(recorded.output)")
            #expect(try await status("mid") == "running")
            #expect(try await sut.store.snapshot("mid")?.record.error?.code == .cancelled)
            #expect(try await taskStatuses("mid") == ["success", "running", "skipped", "skipped"])

            // Refusals: nothing written.
            for (arguments, code, message) in [
                (["cancel", "done"], Int32(65), "done already ended success"),
                (["cancel", "nope"], 66, "no process 'nope' in store postgres://"),
                (["retry", "done"], 65, "it ended success"),
                (["retry", "held"], 65, "it has not ended (running)"),
                (["retry", "nope"], 66, "no process 'nope'"),
            ] {
                let result = try await run(arguments)
                #expect(result.status == code, "\(arguments): \(result.error)")
                #expect(result.error.contains(message), "\(arguments): \(result.error)")
            }
            #expect(try await status("done") == "success")

            // Retry of a failed and a cancelled process: pending again, unowned, for any runner;
            // the task rows keep the runner that ran them.
            let epochBefore: Int64? = try await postgres.value(
                "SELECT lease_epoch FROM processes WHERE process_id = 'bad'")
            for id in ["bad", "pend"] {
                let retried = try await run(["retry", id])
                #expect(retried.status == 0, "\(id): \(retried.error)")
                #expect(retried.output.contains("\(id) is pending again"), "\(retried.output)")
                #expect(try await status(id) == "pending")
                #expect(try await taskStatuses(id) == ["pending", "pending", "pending", "pending"])
                let unowned: Bool? = try await postgres.value(
                    "SELECT owner_runner IS NULL FROM processes WHERE process_id = \(id)")
                #expect(unowned == true)
                let last: String? = try await postgres.value(
                    "SELECT event FROM events WHERE process_id = \(id) ORDER BY id DESC LIMIT 1")
                #expect(last == "retry_requested")
                let runners: [String] = try await postgres.values(
                    "SELECT DISTINCT runner_id FROM tasks WHERE process_id = \(id)")
                #expect(runners == [postgres.runnerID])
            }
            let epochAfter: Int64? = try await postgres.value(
                "SELECT lease_epoch FROM processes WHERE process_id = 'bad'")
            #expect(epochAfter == epochBefore.map { $0 + 1 })
            let retriedRecord = try #require(try await sut.store.snapshot("bad"))
            #expect(retriedRecord.record.error == nil && retriedRecord.record.endedAt == nil)

            // A store no runner has set up: 66, nothing created.
            let server = try PostgresTestServer.require()
            let bare = StoreCommandsTests.urlText(try await server.database("store_control_bare"))
            let unmigrated = try await RunnersTests.spoolrunner(["cancel", "x", "--store", bare], directory: empty)
            #expect(unmigrated.status == 66 && unmigrated.error.contains("spoolrunner migrate"), "\(unmigrated.error)")
            // --db and --store: a usage error.
            let both = try await RunnersTests.spoolrunner(
                ["retry", "x", "--db", "/tmp/x.sqlite", "--store", url], directory: empty)
            #expect(both.status == 64, "\(both.error)")
        }
    }
}
