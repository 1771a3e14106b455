import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `submit --wait` answers for the request it dropped, not for an earlier one with the same id.
@Suite struct SubmitWaitTests {
    @Test func waitReportsARejectedReuseOfAnIdInsteadOfTheOldStatus() throws {
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
        defer {
            runner.signal(SIGTERM)
            _ = runner.wait()
        }
        let first = try spool.run(["submit", "hello", "name=a", "--id", "same", "--wait", "--timeout", "30s"])
        #expect(first.status == 0, "\(first.standardError)")
        let conflicting = try spool.run(["submit", "hello", "name=b", "--id", "same", "--wait", "--timeout", "30s"])
        #expect(conflicting.status == 1)
        #expect(conflicting.standardError.contains("duplicate_process_id"), "\(conflicting.standardError)")
        let identical = try spool.run(["submit", "hello", "name=a", "--id", "same", "--wait", "--timeout", "30s"])
        #expect(identical.status == 0, "\(identical.standardError)")
        #expect(spool.status("same")?.inputs?["name"] == .string("a"))
    }
}
