import Foundation
import Testing

@testable import SpoolRunner

@Suite(.endToEnd) struct SmokeTests {
    @Test func oneSleepTaskRunsToSuccess() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "nap.yaml",
            """
            tasks:
              - name: nap
                sleep: 10ms
            """)
        try spool.drop("p1", #"{"process_type": "nap"}"#)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0, "\(result.standardError)")
        let status = try #require(spool.status("p1"))
        #expect(status.status == .success)
        #expect(status.tasks.map(\.status) == [.success])
        #expect(spool.inboxFiles().isEmpty)
    }
}
