import Foundation
import PostgresNIO
import SpoolStorePostgres
import Synchronization
import Testing

@Suite("A definition's concurrency is global across the fleet")
struct ConcurrencyLimitTests {
    /// The highest count sampled, from every claimer.
    final class Highest: Sendable {
        let value = Mutex(0)
        func record(_ count: Int) { value.withLock { $0 = max($0, count) } }
        var current: Int { value.withLock { $0 } }
    }

    @Test("concurrency: 5 is never exceeded across 3 claimers (sampled); other types are claimed as usual")
    func globalLimit() async throws {
        try await withStores("concurrency_limit", count: 3) { stores in
            var leases: [Lease] = []
            for store in stores { leases.append(try await store.registerTestRunner()) }
            try await stores[0].execute(
                """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                       updated_at, request_sha256, definition_sha256)
                SELECT CASE WHEN n <= 40 THEN 'lim' ELSE 'free' END || lpad(n::text, 3, '0'),
                       CASE WHEN n <= 40 THEN 'limited' ELSE 'free' END, 'pending', '{}', '{}',
                       now() + n * interval '1 millisecond', now(), '\\x00', '\\x00'
                  FROM generate_series(1, 60) AS n
                """)
            let highest = Highest()
            let limits = ["limited": 5]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (store, lease) in zip(stores, leases) {
                    group.addTask {
                        for round in 0..<12 {
                            let claimed = try await store.claim(limit: 3, lease: lease, typeLimits: limits)
                            let owned =
                                try await store.value(
                                    """
                                    SELECT count(*) FROM processes
                                     WHERE process_type = 'limited' AND owner_runner IS NOT NULL AND status = 'pending'
                                    """, as: Int64.self) ?? 0
                            highest.record(Int(owned))
                            // Some of them finish, freeing their slots for the next claims (each
                            // followed by three more rounds that fill the slot again).
                            if round % 3 == 2, round < 9,
                                let done = claimed.first(where: { $0.processType == "limited" })
                            {
                                try await store.execute(
                                    "UPDATE processes SET status = 'success', owner_runner = NULL WHERE process_id = \(done.processID)"
                                )
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(highest.current <= 5)
            #expect(highest.current == 5, "the limit was never reached: the check cannot fail")
            let owned = try await stores[0].value(
                "SELECT count(*) FROM processes WHERE process_type = 'limited' AND owner_runner IS NOT NULL",
                as: Int64.self)
            #expect(owned == 5)
            #expect(
                try await stores[0].value(
                    "SELECT count(*) FROM processes WHERE process_type = 'free' AND owner_runner IS NOT NULL",
                    as: Int64.self) == 20)

            // Claim on intake goes through the same check: at the limit it stays unowned.
            var request = testRequest("lim-new", type: "limited", second: 59)
            request.definitionSHA256 = Data("def-limited".utf8)
            let full = try await stores[1].accept(
                request, fileName: "x", claimIfCapacity: true, lease: leases[1], typeLimit: 5)
            #expect(full == .accepted(leaseEpoch: nil))
        }
    }
}
