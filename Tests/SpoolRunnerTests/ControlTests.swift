import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `cancel`, `retry` and `prune` end to end, through `control/` while `serve` runs.
@Suite(.endToEnd) struct ControlTests {
    @Test func retryResumesAFailedProcessFromItsUnfinishedTasks() async throws {
        let spool = try TemporarySpool()
        let marker = spool.root.appendingPathComponent("fixed").path
        try spool.define(
            "fixable.yaml",
            """
            tasks:
              - name: setup
                shell: 'echo setup >> runs.log'
              - name: fragile
                shell: 'echo fragile >> runs.log; test -f "$MARKER"'
                env: {MARKER: "\(marker)"}
              - name: finish
                shell: 'echo finish >> runs.log'
            """)
        try spool.drop("r1", #"{"process_type": "fixable"}"#)
        try await spool.run(["serve", "--once"])
        #expect(spool.status("r1")?.status == .failed)
        #expect(spool.status("r1")?.tasks.map(\.status) == [.success, .failed, .skipped])

        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        #expect(try await spool.run(["retry", "r1"]).status == 0)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0, "\(result.standardError)")
        let status = try #require(spool.status("r1"))
        #expect(status.status == .success)
        #expect(status.error == nil)
        #expect(status.tasks.map(\.status) == [.success, .success, .success])
        // Finished tasks stay finished and attempt counts go on.
        #expect(status.tasks.map(\.attempts) == [1, 2, 1])
        let runs = try String(contentsOfFile: spool.layout.workDirectory("r1") + "/runs.log", encoding: .utf8)
        #expect(runs == "setup\nfragile\nfragile\nfinish\n")
        let events = try await spool.run(["events", "r1"]).standardOutput
        #expect(events.contains("retry_requested"))
    }

    @Test func controlMessagesForUnknownProcessesOrActionsAreRejected() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 10ms\n")
        try #"{"action": "cancel", "process_id": "nobody"}"#.write(
            toFile: spool.layout.control + "/a.json", atomically: true, encoding: .utf8)
        try #"{"action": "explode", "process_id": "nobody"}"#.write(
            toFile: spool.layout.control + "/b.json", atomically: true, encoding: .utf8)
        try spool.drop("ok", #"{"process_type": "nap"}"#)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0)
        #expect(spool.status("ok")?.status == .success)
        #expect(spool.rejectedFiles() == ["a.json", "a.json.error.json", "b.json", "b.json.error.json"])
        let errorA = try String(contentsOfFile: spool.layout.rejected + "/a.json.error.json", encoding: .utf8)
        #expect(errorA.contains("unknown_process"))
        let errorB = try String(contentsOfFile: spool.layout.rejected + "/b.json.error.json", encoding: .utf8)
        #expect(errorB.contains("unknown_action"))
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: spool.layout.control)) ?? []).filter {
                $0.hasSuffix(".json")
            }.isEmpty)
    }

    /// A control message with a key twice is refused whole: a client's JSON library and the
    /// runner could otherwise act on different actions or processes.
    @Test func controlMessagesWithDuplicateKeysAreInvalidJSON() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 10ms\n")
        try spool.drop("ok", #"{"process_type": "nap"}"#)
        try #"{"action": "retry", "action": "cancel", "process_id": "ok"}"#.write(
            toFile: spool.layout.control + "/dup.json", atomically: true, encoding: .utf8)
        try #"{"action": "cancel", "process_id": "ok", "x": {"y": 1, "y": 2}}"#.write(
            toFile: spool.layout.control + "/nested.json", atomically: true, encoding: .utf8)
        let result = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(result.status == 0)
        #expect(spool.status("ok")?.status == .success)
        #expect(spool.rejectedFiles() == ["dup.json", "dup.json.error.json", "nested.json", "nested.json.error.json"])
        let rows = try spool.rejectionRows()
        #expect(rows.map(\.code) == ["invalid_json", "invalid_json"])
        #expect(
            rows.first { $0.file == "dup.json" }?.message.contains(#"duplicate key "action" at the top level"#) == true,
            "\(rows)")
        #expect(
            rows.first { $0.file == "nested.json" }?.message.contains(#"duplicate key "y" at x.y"#) == true, "\(rows)")
    }

    @Test func pruneDeletesFinishedProcessesAndKeepsUnfinishedOnes() async throws {
        let spool = try TemporarySpool()
        try spool.define("quick.yaml", "tasks:\n  - name: quick\n    shell: 'echo hi'\n")
        // Not idempotent: after its runner's death it fails `interrupted` instead of running again.
        try spool.define("long.yaml", "tasks:\n  - name: long\n    idempotent: false\n    shell: 'sleep 30'\n")
        try spool.drop("done1", #"{"process_type": "quick"}"#)
        try await spool.run(["serve", "--once"])
        #expect(spool.status("done1")?.status == .success)
        // An unfinished process: its runner dies while the task runs.
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("live1", #"{"process_type": "long"}"#)
        #expect(await spool.eventually { spool.status("live1")?.tasks.first?.status == .running })
        runner.signal(SIGKILL)
        _ = await runner.wait()
        try await Task.sleep(for: .milliseconds(20))

        let prune = try await spool.run(["prune", "--older-than", "1ms"])
        #expect(prune.status == 0, "\(prune.standardError)")
        #expect(spool.status("done1") == nil)
        #expect(!FileManager.default.fileExists(atPath: spool.layout.logDirectory("done1")))
        #expect(!FileManager.default.fileExists(atPath: spool.layout.workDirectory("done1")))
        #expect(spool.status("live1") != nil)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let ids = try await queue.read { db in try String.fetchAll(db, sql: "SELECT process_id FROM processes") }
        #expect(ids == ["live1"])
        let orphanEvents = try await queue.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE process_id = 'done1'")
        }
        #expect(orphanEvents == 0)
        // The next start kills the dead runner's task and ends the process.
        try await spool.run(["serve", "--once"])
        #expect(spool.status("live1")?.status == .failed)
        #expect(
            ProcessInspector.processes(withEnvironment: ["SPOOL_WORK_DIR=\(spool.layout.workDirectory("live1"))"])
                .isEmpty)
    }

    /// While a runner holds the spool, `prune` goes through it (a control message): the runner
    /// deletes what ended before the cutoff but never a process it holds again (a retry), and
    /// goes on running.
    @Test func pruneWhileARunnerRunsGoesThroughTheRunner() async throws {
        let spool = try TemporarySpool()
        let flag = spool.root.appendingPathComponent("flag").path
        try spool.define("quick.yaml", "tasks:\n  - name: quick\n    shell: 'echo hi'\n")
        // Fails until the flag exists, then takes a while: retried, it is live while prune runs.
        try spool.define(
            "flaky.yaml", "tasks:\n  - name: step\n    shell: 'test -e \(flag) || exit 3; sleep 2'\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("ok1", #"{"process_type": "quick"}"#)
        try spool.drop("f1", #"{"process_type": "flaky"}"#)
        #expect(
            await spool.eventually { spool.status("ok1")?.status == .success && spool.status("f1")?.status == .failed })
        try await Task.sleep(for: .milliseconds(50))
        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        #expect(try await spool.run(["retry", "f1"]).status == 0)
        #expect(await spool.eventually { spool.status("f1")?.status == .running })

        let prune = try await spool.run(["prune", "--older-than", "1ms"])
        #expect(prune.status == 0, "\(prune.standardError)")
        #expect(prune.standardOutput.contains("pruned 1 process(es)"), "\(prune.standardOutput)")
        #expect(prune.standardOutput.contains("through the running runner"), "\(prune.standardOutput)")
        #expect(spool.status("ok1") == nil)
        #expect(!FileManager.default.fileExists(atPath: spool.layout.logDirectory("ok1")))
        // The redriven process was not touched, and ends as it should under the same runner.
        #expect(await spool.eventually(timeout: 20) { spool.status("f1")?.status == .success })
        #expect(runner.process.isRunning)
        let history = try await spool.run(["history", "--json"])
        #expect(history.standardOutput.contains("\"f1\"") && !history.standardOutput.contains("\"ok1\""))
        #expect(TemporarySpool.standardErrorSoFar(runner).contains("pruned 1 process(es)"))
        runner.signal(SIGTERM)
        #expect(await runner.wait().status == 0)
    }

    /// Deleting history takes the rights of the store's owner: a prune message written by
    /// another user (a member of the spool's group) is rejected, and nothing is deleted.
    @Test func aPruneMessageFromAnotherUserIsRejected() async throws {
        let spool = try TemporarySpool()
        try spool.define("quick.yaml", "tasks:\n  - name: quick\n    shell: 'echo hi'\n")
        try spool.drop("ok1", #"{"process_type": "quick"}"#)
        try await spool.run(["serve", "--once"])
        #expect(spool.status("ok1")?.status == .success)
        try await Task.sleep(for: .milliseconds(20))
        let name = "prune-other.json"
        let temp = "\(spool.layout.tmp)/\(name)"
        try Data(#"{"action": "prune", "before": "2999-01-01T00:00:00Z"}"#.utf8).write(to: URL(fileURLWithPath: temp))
        #expect(chown(temp, 65534, 65534) == 0, "chown needs root: \(String(cString: strerror(errno)))")
        #expect(rename(temp, "\(spool.layout.control)/\(name)") == 0)
        let run = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(FileManager.default.fileExists(atPath: "\(spool.layout.rejected)/\(name)"))
        let error = try String(contentsOfFile: "\(spool.layout.rejected)/\(name).error.json", encoding: .utf8)
        #expect(error.contains("permission_denied") && error.contains("runner's user"), "\(error)")
        #expect(spool.status("ok1")?.status == .success)
    }
}
