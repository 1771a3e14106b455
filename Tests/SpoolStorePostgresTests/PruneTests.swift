import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

/// The store side of `serve --prune-after` on PostgreSQL: what a prune may delete, in chunks,
/// beside the fleet and beside a second prune (two leaders for a moment).
@Suite("Prune on PostgreSQL")
struct PruneTests {
    /// `count` processes accepted unowned, then ended `status` at `endedAt` (an SQL timestamp
    /// expression), unowned, as the engine's final commit leaves them.
    static func finished(
        _ ids: [String], on store: PostgresStore, lease: Lease, endedAt: String, status: String = "success"
    ) async throws {
        for (index, id) in ids.enumerated() {
            _ = try await store.accept(
                testRequest(id, second: index), fileName: "\(id).json", claimIfCapacity: false, lease: lease)
        }
        try await store.execute(
            """
            UPDATE processes SET status = \(status), started_at = created_at,
                   ended_at = \(unescaped: endedAt), owner_runner = NULL
             WHERE process_id = ANY(\(ids)::text[])
            """)
        try await store.execute(
            "UPDATE tasks SET status = 'success', attempts = 1 WHERE process_id = ANY(\(ids)::text[])")
    }

    @Test("only finished, unowned processes ended before the cutoff go, with every row of them")
    func whatGoes() async throws {
        try await withStores("prune_what", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let lease = try await a.registerTestRunner()
            _ = try await b.registerTestRunner()
            try await Self.finished(["old1", "old2"], on: a, lease: lease, endedAt: "now() - interval '40 days'")
            try await Self.finished(
                ["oldfail"], on: a, lease: lease, endedAt: "now() - interval '40 days'", status: "failed")
            try await Self.finished(["recent"], on: a, lease: lease, endedAt: "now() - interval '1 day'")
            // Old but being retried: a runner claimed it (owned) and has not committed it pending yet.
            try await Self.finished(["retried"], on: a, lease: lease, endedAt: "now() - interval '40 days'")
            try await a.execute("UPDATE processes SET owner_runner = 'runner-1' WHERE process_id = 'retried'")
            // Old and unfinished: created long ago, still running.
            _ = try await a.accept(
                testRequest("running"), fileName: "running.json", claimIfCapacity: true, lease: lease)
            try await a.execute(
                "UPDATE processes SET status = 'running', created_at = now() - interval '50 days' WHERE process_id = 'running'"
            )
            // Held by the pruning runner itself (`keeping`).
            try await Self.finished(["held"], on: a, lease: lease, endedAt: "now() - interval '40 days'")
            try await a.execute(
                "INSERT INTO rejections (file_name, received_at, code, message, runner_id) VALUES ('x.json', now() - interval '40 days', 'invalid_json', 'x', 'runner-0'), ('y.json', now(), 'invalid_json', 'y', 'runner-0')"
            )
            let plan = try await b.prunePlan(before: Date().addingTimeInterval(-30 * 86400))
            #expect(Set(plan.processIDs) == ["old1", "old2", "oldfail", "held"])
            let result = try await b.prune(before: Date().addingTimeInterval(-30 * 86400), keeping: ["held"])
            #expect(Set(result.processIDs) == ["old1", "old2", "oldfail"])
            #expect(result.rejections == 1)
            let left: [String] = try await a.values("SELECT process_id FROM processes ORDER BY process_id")
            #expect(left == ["held", "recent", "retried", "running"])
            for table in ["tasks", "events", "subscriptions"] {
                let orphans: Int64? = try await a.value(
                    "SELECT count(*) FROM \(unescaped: table) WHERE process_id NOT IN (SELECT process_id FROM processes)"
                )
                #expect(orphans == 0, "\(table)")
            }
            let gone: Int64? = try await a.value(
                "SELECT count(*) FROM events WHERE process_id IN ('old1', 'old2', 'oldfail')")
            #expect(gone == 0)
            let rejections: [String] = try await a.values("SELECT file_name FROM rejections")
            #expect(rejections == ["y.json"])
            #expect(try await a.existingProcessIDs(among: ["old1", "recent", "held", "never"]) == ["recent", "held"])
        }
    }

    /// Two leaders for a moment (a partition): both prune the same history at once, in small
    /// chunks. Each deletes its own share (SKIP LOCKED), neither fails, nothing is deleted twice
    /// and nothing that must stay goes.
    @Test("two prunes at once share the work and keep what must stay")
    func twoLeaders() async throws {
        try await withStores("prune_two", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let lease = try await a.registerTestRunner()
            _ = try await b.registerTestRunner()
            let old = (0..<600).map { String(format: "o%04d", $0) }
            try await Self.finished(old, on: a, lease: lease, endedAt: "now() - interval '40 days'")
            try await Self.finished(["recent"], on: a, lease: lease, endedAt: "now()")
            try await Self.finished(["retried"], on: a, lease: lease, endedAt: "now() - interval '40 days'")
            try await a.execute("UPDATE processes SET owner_runner = 'runner-1' WHERE process_id = 'retried'")
            let cutoff = Date().addingTimeInterval(-86400)
            async let first = a.prune(before: cutoff, keeping: [], chunk: 50)
            async let second = b.prune(before: cutoff, keeping: [], chunk: 50)
            let (x, y) = try await (first, second)
            #expect(Set(x.processIDs).isDisjoint(with: y.processIDs))
            #expect(Set(x.processIDs).union(y.processIDs) == Set(old))
            #expect(x.processIDs.count + y.processIDs.count == old.count)
            let left: [String] = try await a.values("SELECT process_id FROM processes ORDER BY process_id")
            #expect(left == ["recent", "retried"])
            let orphans: Int64? = try await a.value(
                "SELECT count(*) FROM tasks WHERE process_id NOT IN (SELECT process_id FROM processes)")
            #expect(orphans == 0)
        }
    }
}
