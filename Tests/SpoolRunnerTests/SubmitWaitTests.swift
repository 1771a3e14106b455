import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `submit --wait` answers for the request it dropped, not for an earlier one with the same id.
@Suite(.endToEnd) struct SubmitWaitTests {
    @Test func waitReportsARejectedReuseOfAnIdInsteadOfTheOldStatus() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "hello.yaml",
            """
            inputs:
              name: {type: string, required: true}
            tasks:
              - name: greet
                sleep: 10ms
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM) {
            let first = try await spool.run(["submit", "hello", "name=a", "--id", "same", "--wait", "--timeout", "30s"])
            #expect(first.status == 0, "\(first.standardError)")
            let conflicting = try await spool.run([
                "submit", "hello", "name=b", "--id", "same", "--wait", "--timeout", "30s",
            ])
            #expect(conflicting.status == 1)
            #expect(conflicting.standardError.contains("duplicate_process_id"), "\(conflicting.standardError)")
            let identical = try await spool.run([
                "submit", "hello", "name=a", "--id", "same", "--wait", "--timeout", "30s",
            ])
            #expect(identical.status == 0, "\(identical.standardError)")
            #expect(spool.status("same")?.inputs?["name"] == .string("a"))
        }
    }
}
