import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

/// `commit_tokens` keeps only what a retry can still ask for: the newest token of each writer,
/// and that one only while its incarnation is alive or for `commitTokenRetention` after.
@Suite("Pruning the commit tokens")
struct CommitTokenPruneTests {
    /// Tokens of four writers: `w1` (runner-0's live incarnation, three batches), `w2`
    /// (runner-0's previous incarnation, the one before `lease`, two days old), `w3` (runner-1, dead, a minute old),
    /// `w4` (runner-0's live incarnation, its only batch two days old).
    static func seed(_ store: PostgresStore, incarnation: Int64) async throws {
        try await store.execute(
            """
            INSERT INTO commit_tokens (runner_id, incarnation, writer, seq, committed_at, result)
            SELECT t.runner_id, t.incarnation, t.writer::uuid, t.seq, now() - t.age, '{}'::jsonb
              FROM (VALUES
                ('runner-0', \(incarnation), '00000000-0000-0000-0000-000000000001', 1, interval '3 minutes'),
                ('runner-0', \(incarnation), '00000000-0000-0000-0000-000000000001', 2, interval '2 minutes'),
                ('runner-0', \(incarnation), '00000000-0000-0000-0000-000000000001', 3, interval '1 minute'),
                ('runner-0', \(incarnation - 1), '00000000-0000-0000-0000-000000000002', 8, interval '49 hours'),
                ('runner-0', \(incarnation - 1), '00000000-0000-0000-0000-000000000002', 9, interval '48 hours'),
                ('runner-1', 1, '00000000-0000-0000-0000-000000000003', 4, interval '1 minute'),
                ('runner-0', \(incarnation), '00000000-0000-0000-0000-000000000004', 7, interval '48 hours')
              ) AS t(runner_id, incarnation, writer, seq, age)
            """)
    }

    static func remaining(_ store: PostgresStore) async throws -> [String] {
        try await store.values(
            "SELECT right(writer::text, 1) || '/' || seq FROM commit_tokens ORDER BY writer, seq", as: String.self)
    }

    @Test("only each writer's newest token stays, and a dead incarnation's only for the retention")
    func whatStays() async throws {
        try await withStores("token_prune", count: 2) { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner()
            _ = try await stores[1].registerTestRunner()
            try await stores[1].execute("UPDATE runners SET state = 'dead' WHERE runner_id = 'runner-1'")
            try await Self.seed(store, incarnation: lease.incarnation)

            #expect(try await store.pruneCommitTokens() == 4)
            // w1: its newest; w2: gone (incarnation over, older than a day); w3: dead but a
            // minute old; w4: old, but its incarnation is alive.
            #expect(try await Self.remaining(store) == ["1/3", "3/4", "4/7"])
            // With no retention, w3's goes too; w1's and w4's stay while runner-0 is alive.
            #expect(try await store.pruneCommitTokens(retention: .zero) == 1)
            #expect(try await Self.remaining(store) == ["1/3", "4/7"])
            // Idempotent.
            #expect(try await store.pruneCommitTokens(retention: .zero) == 0)
        }
    }

    @Test("the leader's reaper and prune both prune the tokens")
    func maintenancePrunes() async throws {
        try await withStores("token_prune_paths", count: 2) { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner()
            _ = try await stores[1].registerTestRunner()
            try await stores[1].execute("UPDATE runners SET state = 'dead' WHERE runner_id = 'runner-1'")

            try await Self.seed(store, incarnation: lease.incarnation)
            _ = try await store.reapExpiredRunners()
            #expect(try await Self.remaining(store) == ["1/3", "3/4", "4/7"])

            try await store.execute("DELETE FROM commit_tokens")
            try await Self.seed(store, incarnation: lease.incarnation)
            _ = try await store.prune(before: Date(timeIntervalSince1970: 0), keeping: [])
            #expect(try await Self.remaining(store) == ["1/3", "3/4", "4/7"])
        }
    }

    @Test("a batch whose answer was lost is still answered from its token after a prune")
    func theRetriedTokenStays() async throws {
        try await withStores("token_prune_retry") { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner()
            let writer = UUID()
            func commit(_ seq: Int64) async throws -> String? {
                try await store.value(
                    """
                    SELECT spoolrunner_commit('runner-0', \(lease.incarnation)::int8, \(writer)::uuid, \(seq)::int8,
                                              NULL::int4, \(IdempotentCommitTests.newProcess)::jsonb)::text
                    """)
            }
            _ = try await commit(1)
            _ = try await commit(2)
            try await store.pruneCommitTokens(retention: .zero)
            #expect(try await store.values("SELECT seq FROM commit_tokens", as: Int64.self) == [2])
            // The runner sends seq 2 again (its answer was lost): the same answer, nothing written.
            let again = try await commit(2)
            #expect(again?.contains(#""replayed": true"#) == true, "\(again ?? "nil")")
            #expect(try await store.value("SELECT count(*) FROM rejections", as: Int64.self) == 2)
        }
    }
}
