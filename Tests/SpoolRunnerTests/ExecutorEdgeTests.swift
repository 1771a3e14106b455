import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Tasks that close their standard output early or leave children behind: the runner follows
/// the task's own process, not its output pipe.
@Suite(.endToEnd) struct ExecutorEdgeTests {
    @Test func timeoutHoldsForATaskThatClosedItsOutput() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "quiet.yaml",
            """
            tasks:
              - name: quiet
                shell: 'exec >/dev/null; sleep 30'
                timeout: 300ms
            """)
        try spool.drop("q1", #"{"process_type": "quiet"}"#)
        let began = Date()
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0)
        #expect(Date().timeIntervalSince(began) < 15)
        let status = try #require(spool.status("q1"))
        #expect(status.tasks.first?.error?.code == "timeout")
    }

    @Test func cancelStopsATaskThatClosedItsOutput() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "quiet.yaml",
            """
            tasks:
              - name: quiet
                shell: 'exec >/dev/null 2>&1; sleep 30'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM) {
            try spool.drop("q2", #"{"process_type": "quiet"}"#)
            #expect(await spool.eventually { spool.status("q2")?.tasks.first?.status == .running })
            try await spool.run(["cancel", "q2"])
            #expect(await spool.eventually(timeout: 15) { spool.status("q2")?.status == .cancelled })
        }
    }

    @Test func aBackgroundChildHoldingOutputDoesNotHoldTheTask() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "bg.yaml",
            """
            tasks:
              - name: leaves_child
                shell: 'sleep 30 & echo "{\\"left\\": true}"'
            """)
        try spool.drop("b1", #"{"process_type": "bg"}"#)
        let began = Date()
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0)
        #expect(Date().timeIntervalSince(began) < 15)
        let status = try #require(spool.status("b1"))
        #expect(status.status == .success)
        #expect(status.tasks.first?.output == ["left": .bool(true)])
        // The child left in the task's process group is gone.
        #expect(
            ProcessInspector.processes(withEnvironment: ["SPOOL_WORK_DIR=\(spool.layout.workDirectory("b1"))"]).isEmpty)
    }
}
