import Foundation
import Testing

@testable import SpoolRunner

/// `cancel` and a graceful shutdown, on the engine run in-process by `withEngine` (the real
/// store, status writer and child processes; no `spoolrunner` binary). The CLI's own `cancel`
/// command is covered by the end-to-end tests.
@Suite(.endToEnd) struct EngineControlTests {
    @Test func cancelStopsRunningTasksAndSkipsPendingOnes() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "slow.yaml",
            """
            tasks:
              - name: first
                shell: 'sleep 30'
              - name: second
                sleep: 1s
            """)
        try await withEngine(spool) { engine in
            try engine.drop("c1", #"{"process_type": "slow"}"#)
            #expect(await engine.eventually { engine.status("c1")?.tasks.first?.status == .running })
            let file = try engine.control(.cancel, "c1")
            #expect(await engine.eventually(timeout: 20) { engine.status("c1")?.status == .cancelled })
            // The control file was taken, not rejected.
            #expect(!FileManager.default.fileExists(atPath: "\(engine.layout.control)/\(file)"))
            #expect(spool.rejectedFiles().isEmpty)
            let status = try #require(engine.status("c1"))
            #expect(status.tasks.map(\.status) == [.cancelled, .skipped])
            #expect(status.error?.code == "cancelled")
            #expect(status.tasks[0].error?.code == "cancelled")
            // The store says the same as the status file.
            #expect(try await engine.store.process("c1")?.status == .cancelled)
            // The task's process group is gone.
            #expect(
                ProcessInspector.processes(withEnvironment: ["SPOOL_WORK_DIR=\(spool.layout.workDirectory("c1"))"])
                    .isEmpty)
        }
        #expect(try spool.eventNames("c1").contains("process_cancelled"))
    }

    @Test(.waitsOnTimers) func cancelEscalatesToSIGKILLWhenSIGTERMIsIgnored() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "stubborn.yaml",
            """
            tasks:
              - name: ignore_term
                shell: 'trap "" TERM; sleep 30 & wait; sleep 30'
            """)
        try await withEngine(spool) { engine in
            try engine.drop("s1", #"{"process_type": "stubborn"}"#)
            #expect(await engine.eventually { engine.status("s1")?.tasks.first?.status == .running })
            // Let the shell install its trap before the SIGTERM comes.
            try await Task.sleep(for: .milliseconds(200))
            let asked = Date()
            try engine.control(.cancel, "s1")
            #expect(await engine.eventually(timeout: 20) { engine.status("s1")?.status == .cancelled })
            // SIGTERM is ignored, so only the SIGKILL 5 s later ends it.
            #expect(Date().timeIntervalSince(asked) >= 4.5)
        }
        #expect(spool.status("s1")?.tasks.first?.status == .cancelled)
    }

    @Test func gracefulShutdownLetsRunningTasksFinishAndTakesNoNewRequest() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "short.yaml",
            """
            tasks:
              - name: work
                shell: 'touch started; sleep 0.5; touch finished'
            """)
        try await withEngine(spool) { engine in
            try engine.drop("g1", #"{"process_type": "short"}"#)
            #expect(await engine.eventually { engine.workFileExists("g1", "started") })
        }
        // withEngine returned after the graceful shutdown: the running task was let finish and
        // recorded, in the status file and in the store.
        #expect(spool.workFile("g1", "finished") != nil)
        let status = try #require(spool.status("g1"))
        #expect(status.status == .success)
        #expect(try status.task("work").status == .success)
        #expect(try spool.eventNames("g1").suffix(2) == ["work:task_succeeded", "process_succeeded"])
        // A request dropped after the runner stopped stays in the inbox for the next one.
        try spool.drop("g2", #"{"process_type": "short"}"#)
        #expect(spool.inboxFiles() == ["g2.json"])
        #expect(try spool.processRowCount("g2") == 0)
    }
}

extension EngineHarness {
    func workFileExists(_ id: String, _ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(layout.workDirectory(id))/\(name)")
    }
}
