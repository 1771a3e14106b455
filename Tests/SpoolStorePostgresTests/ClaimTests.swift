import Foundation
import PostgresNIO
import SpoolRunner
import SpoolStorePostgres
import Testing

@Suite("Intake and claims")
struct ClaimTests {
    @Test("accept: new, identical duplicate (subscribes), conflicting duplicate (nothing written)")
    func accept() async throws {
        try await withStores("accept", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            let request = testRequest("p1")
            #expect(
                try await a.accept(request, fileName: "p1.json", claimIfCapacity: false, lease: leaseA)
                    == .accepted(leaseEpoch: nil))
            #expect(try await a.value("SELECT count(*) FROM tasks WHERE process_id = 'p1'", as: Int64.self) == 3)
            #expect(
                try await a.value("SELECT event FROM events WHERE process_id = 'p1'", as: String.self) == "accepted")
            #expect(
                try await a.value("SELECT detail_json->>'file' FROM events WHERE process_id = 'p1'", as: String.self)
                    == "p1.json")
            #expect(
                try await a.value("SELECT definitions.yaml FROM definitions", as: String.self) == "type: greet\n")

            // The same bytes on another host: one process, both hosts subscribed.
            #expect(
                try await b.accept(request, fileName: "p1.json", claimIfCapacity: true, lease: leaseB) == .duplicate)
            #expect(
                try await a.values("SELECT runner_id FROM subscriptions ORDER BY runner_id", as: String.self)
                    == ["runner-0", "runner-1"])
            #expect(try await a.value("SELECT count(*) FROM processes", as: Int64.self) == 1)
            #expect(try await a.value("SELECT count(*) FROM events", as: Int64.self) == 1)

            // Other bytes under the same id: a conflict, nothing changes.
            var other = request
            other.requestJSON += " "
            #expect(try await b.accept(other, fileName: "p1.json", claimIfCapacity: true, lease: leaseB) == .conflict)
            #expect(try await a.value("SELECT request_json FROM processes", as: String.self) == request.requestJSON)
            #expect(try await a.value("SELECT owner_runner FROM processes", as: String?.self) == .some(nil))

            // Claim on intake: owned at once, epoch 1.
            let claimed = try await b.accept(
                testRequest("p2", second: 1), fileName: "p2.json", claimIfCapacity: true, lease: leaseB)
            #expect(claimed == .accepted(leaseEpoch: 1))
            #expect(
                try await a.value("SELECT owner_runner FROM processes WHERE process_id = 'p2'", as: String.self)
                    == "runner-1")
        }
    }

    @Test("the engine's claim brings each process's stored state, stored definition and subscription with it")
    func claimedWorkComesWhole() async throws {
        try await withStores("claimed_work", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            var mine = testRequest("p1", second: 1)
            mine.definitionYAML = "process_type: greet\ntasks:\n  - name: t0\n    sleep: 0s\n"
            _ = try await a.accept(mine, fileName: "p1.json", claimIfCapacity: false, lease: leaseA)
            var theirs = testRequest("p2", second: 2)
            theirs.definitionYAML = mine.definitionYAML
            _ = try await b.accept(theirs, fileName: "p2.json", claimIfCapacity: false, lease: leaseB)
            try await a.execute("UPDATE tasks SET status = 'success', attempts = 1 WHERE task_name = 't0'")

            // One at a time: the second claim finds the definition parsed already (its YAML is
            // not sent again) and still gets it.
            let first = try await a.claim(limit: 1, concurrency: [:])
            let second = try await a.claim(limit: 1, concurrency: [:])
            #expect(try await a.claim(limit: 1, concurrency: [:]).isEmpty)
            let work = first + second
            #expect(work.map(\.process.record.processID) == ["p1", "p2"])
            #expect(work.map(\.subscribed) == [true, false])
            #expect(work.map { $0.definition?.processType } == ["greet", "greet"])
            #expect(work.allSatisfy { !$0.fromDeadIncarnation })
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for item in work {
                let id = item.process.record.processID
                let stored = try #require(try await a.snapshot(id))
                #expect(try encoder.encode(item.process.record) == encoder.encode(stored.record), "\(id)")
                #expect(try encoder.encode(item.process.tasks) == encoder.encode(stored.tasks), "\(id)")
                #expect(item.process.tasks.first?.status == .success, "\(id)")
                #expect(item.process.tasks.count == 3, "\(id)")
            }
            #expect(
                try await a.values("SELECT owner_runner FROM processes ORDER BY process_id", as: String.self)
                    == ["runner-0", "runner-0"])
        }
    }

    @Test("claim takes the oldest unowned unfinished processes, up to the limit, once")
    func claimOrder() async throws {
        try await withStores("claim_order", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            for (index, id) in ["c", "a", "d", "b", "e"].enumerated() {
                _ = try await a.accept(
                    testRequest(id, second: 10 - index), fileName: id, claimIfCapacity: false, lease: leaseA)
            }
            try await a.execute("UPDATE processes SET status = 'success' WHERE process_id = 'd'")
            let first = try await a.claim(limit: 2, lease: leaseA)
            #expect(first.map(\.processID) == ["e", "b"])
            #expect(first.allSatisfy { $0.leaseEpoch == 1 && $0.status == "pending" })
            let second = try await b.claim(limit: 10, lease: leaseB)
            #expect(second.map(\.processID) == ["a", "c"])
            #expect(try await b.claim(limit: 10, lease: leaseB).isEmpty)
            #expect(try await a.claim(limit: 0, lease: leaseA).isEmpty)

            // An expired lease claims nothing.
            try await a.execute("UPDATE processes SET owner_runner = NULL")
            try await a.execute(
                "UPDATE runners SET expires_at = now() - interval '1 second' WHERE runner_id = 'runner-0'")
            #expect(try await a.claim(limit: 10, lease: leaseA).isEmpty)
            #expect(try await b.claim(limit: 10, lease: leaseB).count == 4)
        }
    }

    @Test("8 concurrent claimers × 2,000 processes: each is claimed exactly once")
    func concurrentClaimers() async throws {
        try await withStores("concurrent_claims", count: 8) { stores in
            var leases: [Lease] = []
            for store in stores { leases.append(try await store.registerTestRunner()) }
            // Fixture rows in one statement: the claim is under test here, not intake.
            try await stores[0].execute(
                """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                       updated_at, request_sha256, definition_sha256)
                SELECT 'p' || lpad(n::text, 5, '0'), 'greet', 'pending', '{}', '{}',
                       now() + n * interval '1 millisecond', now(), '\\x00', '\\x00'
                  FROM generate_series(1, 2000) AS n
                """)
            let claims = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
                for (store, lease) in zip(stores, leases) {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await store.claim(limit: 7, lease: lease)
                            if batch.isEmpty { break }
                            mine += batch.map(\.processID)
                        }
                        return (store.runnerID, mine)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let all = claims.values.flatMap { $0 }
            #expect(all.count == 2000)
            #expect(Set(all).count == 2000)
            #expect(
                claims.values.filter { !$0.isEmpty }.count >= 2,
                "the claims were not spread: \(claims.mapValues(\.count))")
            for (runner, ids) in claims where !ids.isEmpty {
                let owned = try await stores[0].value(
                    "SELECT count(*) FROM processes WHERE owner_runner = \(runner) AND lease_epoch = 1", as: Int64.self)
                #expect(owned == Int64(ids.count), "\(runner)")
            }
        }
    }
}

@Suite("Schedule slots under two leaders")
struct ScheduleSlotTests {
    @Test("two \"leaders\" inserting the same 100 schedule slots at once create 100 processes")
    func twoLeaders() async throws {
        try await withStores("two_leaders", count: 2) { stores in
            var leases: [Lease] = []
            for store in stores { leases.append(try await store.registerTestRunner()) }
            // Deterministic slot ids and identical bytes, as both leaders derive them from the cron.
            let slots = (0..<100).map {
                testRequest("nightly-2026-11-30T\(String(format: "%04d", $0))", second: $0 % 60)
            }
            let outcomes = try await withThrowingTaskGroup(of: [Acceptance].self) { group in
                for (store, lease) in zip(stores, leases) {
                    group.addTask {
                        var outcomes: [Acceptance] = []
                        for slot in slots {
                            outcomes.append(
                                try await store.accept(slot, fileName: "schedule", claimIfCapacity: false, lease: lease)
                            )
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.filter { $0 == .accepted(leaseEpoch: nil) }.count == 100)
            #expect(outcomes.filter { $0 == .duplicate }.count == 100)
            #expect(try await stores[0].value("SELECT count(*) FROM processes", as: Int64.self) == 100)
            #expect(try await stores[0].value("SELECT count(*) FROM tasks", as: Int64.self) == 300)
            #expect(
                try await stores[0].value("SELECT count(*) FROM events WHERE event = 'accepted'", as: Int64.self)
                    == 100)
        }
    }
}
