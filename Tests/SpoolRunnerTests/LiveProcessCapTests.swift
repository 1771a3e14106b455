import Foundation
import GRDB
import Testing

@testable import SpoolRunner

/// `--max-live` (issue 10, W5): a backlog waits in `inbox/`, not in the runner's memory. The
/// runner holds at most that many accepted, unfinished processes and takes more as they end.
@Suite(.endToEnd) struct LiveProcessCapTests {
    static let napping = """
        tasks:
          - name: nap
            sleep: 20ms
          - name: again
            sleep: 10ms
        """

    /// Replays the `events` table in commit order: no more than the cap were ever accepted and
    /// not yet ended, and the cap was reached (the backlog really waited).
    @Test func noMoreThanMaxLiveProcessesAreHeldAtOnce() async throws {
        let spool = try TemporarySpool()
        try spool.define("napping.yaml", Self.napping)
        let ids = (0..<40).map { String(format: "cap%02d", $0) }
        for id in ids { try spool.drop(id, #"{"process_type": "napping"}"#) }
        let result = try await spool.run(["serve", "--once", "--max-live", "5", "--max-tasks", "16", "--settle", "0s"])
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        #expect(ids.allSatisfy { spool.status($0)?.status == .success })
        #expect(spool.inboxFiles().isEmpty)

        let reader = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let events = try reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT process_id, event FROM events
                    WHERE event IN ('accepted', 'process_succeeded', 'process_failed', 'process_cancelled')
                    ORDER BY id
                    """)
        }
        var live = 0
        var most = 0
        for event in events {
            if (event["event"] as String) == "accepted" {
                live += 1
                most = max(most, live)
            } else {
                live -= 1
            }
        }
        #expect(events.count == 2 * ids.count)
        #expect(most <= 5, "at most --max-live 5 processes live at once; \(most) were")
        #expect(most == 5, "the backlog of 40 should have filled the cap; the most live was \(most)")
    }

    @Test func maxLiveMustBePositive() async throws {
        let spool = try TemporarySpool()
        let result = try await spool.run(["serve", "--once", "--max-live", "0"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--max-live must be at least 1"))
    }
}
