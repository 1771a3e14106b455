import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

@Suite("Fenced commits and release")
struct CommitTests {
    static func startTask(_ id: String, epoch: Int64, at second: Int) -> ProcessTransition {
        let stamp = String(format: "2026-11-30T06:01:%02d.000Z", second)
        return ProcessTransition(
            processID: id, leaseEpoch: epoch,
            process: .init(status: "running", startedAt: stamp, updatedAt: stamp),
            tasks: [
                .init(
                    taskName: "t0", position: 0, mode: "sync", status: "running", attempts: 1, startedAt: stamp,
                    pid: 1234, pidStartTicks: 55, machineID: "m-1")
            ],
            events: [
                .init(taskName: "t0", event: "task_started", at: stamp, detailJSON: #"{"attempt":1}"#),
                .init(event: "process_started", at: stamp),
            ])
    }

    @Test("a commit carrying a stale epoch changes nothing and reports the process lost")
    func staleEpoch() async throws {
        try await withStores("stale_epoch", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            _ = try await a.accept(testRequest("p1"), fileName: "p1", claimIfCapacity: false, lease: leaseA)
            _ = try await a.accept(testRequest("p2", second: 1), fileName: "p2", claimIfCapacity: false, lease: leaseA)
            let claimed = try await a.claim(limit: 2, lease: leaseA)
            #expect(claimed.map(\.leaseEpoch) == [1, 1])

            // A's first commit lands.
            let first = try await a.commit([Self.startTask("p1", epoch: 1, at: 0)], lease: leaseA)
            #expect(first == CommitResult(committed: ["p1"], lost: [], cancelRequested: []))
            #expect(
                try await a.value("SELECT status FROM processes WHERE process_id = 'p1'", as: String.self) == "running")
            #expect(
                try await a.values("SELECT event FROM events WHERE process_id = 'p1' ORDER BY id", as: String.self)
                    == ["accepted", "task_started", "process_started"])
            #expect(
                try await a.value(
                    "SELECT runner_id FROM tasks WHERE process_id = 'p1' AND task_name = 't0'", as: String.self)
                    == "runner-0")

            // A releases (epoch 2) and B claims (epoch 3): A's late write is fenced off.
            #expect(try await a.release(leaseA) == ["p1", "p2"])
            let taken = try await b.claim(limit: 1, lease: leaseB)
            #expect(taken.map(\.processID) == ["p1"])
            #expect(taken.first?.leaseEpoch == 3)
            let before = try await a.value("SELECT count(*) FROM events", as: Int64.self)
            var late = Self.startTask("p1", epoch: 1, at: 30)
            late.process?.status = "success"
            let zombie = try await a.commit([late], lease: leaseA)
            #expect(zombie == CommitResult(committed: [], lost: ["p1"], cancelRequested: []))
            #expect(try await a.value("SELECT count(*) FROM events", as: Int64.self) == before)
            #expect(
                try await a.value("SELECT status FROM processes WHERE process_id = 'p1'", as: String.self) == "running")
            #expect(
                try await a.value("SELECT owner_runner FROM processes WHERE process_id = 'p1'", as: String.self)
                    == "runner-1")

            // B's commit under the right epoch lands, and a final state ends the ownership.
            var done = Self.startTask("p1", epoch: 3, at: 40)
            done.process?.status = "success"
            done.process?.endedAt = "2026-11-30T06:01:41.000Z"
            done.tasks[0].status = "success"
            done.tasks[0].exitCode = 0
            done.tasks[0].outputJSON = #"{"greeting":"hi"}"#
            // One batch: B's own process and a stale one it does not own.
            let result = try await b.commit([done, Self.startTask("p2", epoch: 1, at: 41)], lease: leaseB)
            #expect(result == CommitResult(committed: ["p1"], lost: ["p2"], cancelRequested: []))
            #expect(
                try await a.value("SELECT owner_runner FROM processes WHERE process_id = 'p1'", as: String?.self)
                    == .some(nil))
            #expect(
                try await a.value(
                    "SELECT output_json->>'greeting' FROM tasks WHERE process_id = 'p1' AND task_name = 't0'",
                    as: String.self)
                    == "hi")
            #expect(
                try await a.value(
                    "SELECT ended_at = '2026-11-30T06:01:41Z' FROM processes WHERE process_id = 'p1'", as: Bool.self)
                    == true)
        }
    }

    @Test("a dead incarnation's commit is lost; a cancel requested elsewhere comes back with the commit")
    func incarnationAndCancel() async throws {
        try await withStores("incarnation_cancel") { stores in
            let store = stores[0]
            let old = try await store.registerTestRunner()
            _ = try await store.accept(testRequest("p1"), fileName: "p1", claimIfCapacity: true, lease: old)
            try await store.execute("UPDATE processes SET cancel_requested_at = now()")
            let result = try await store.commit([Self.startTask("p1", epoch: 1, at: 0)], lease: old)
            #expect(result.cancelRequested == ["p1"])

            try await store.execute("UPDATE runners SET expires_at = now() - interval '1 second'")
            let next = try await store.registerTestRunner()
            let stale = try await store.commit([Self.startTask("p1", epoch: 1, at: 1)], lease: old)
            #expect(stale.lost == ["p1"])
            let current = try await store.commit([Self.startTask("p1", epoch: 1, at: 2)], lease: next)
            #expect(current.committed == ["p1"])
        }
    }

    @Test("a batch of many processes commits its events in order")
    func batch() async throws {
        try await withStores("commit_batch") { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner()
            for index in 0..<50 {
                _ = try await store.accept(
                    testRequest("p\(index)", second: index), fileName: "f", claimIfCapacity: true, lease: lease)
            }
            let result = try await store.commit(
                (0..<50).map { Self.startTask("p\($0)", epoch: 1, at: $0 % 60) }, lease: lease)
            #expect(result.committed.count == 50)
            let order = try await store.values(
                "SELECT event FROM events WHERE process_id = 'p7' ORDER BY id", as: String.self)
            #expect(order == ["accepted", "task_started", "process_started"])
            #expect(try await store.value("SELECT count(*) FROM tasks WHERE status = 'running'", as: Int64.self) == 50)
        }
    }

    @Test("release hands every owned process back, stops the runner and notifies the fleet")
    func release() async throws {
        try await withStores("release", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            for id in ["p1", "p2", "p3"] {
                _ = try await a.accept(testRequest(id), fileName: id, claimIfCapacity: true, lease: leaseA)
            }
            let connection = try await PostgresConnection.connect(
                configuration: a.url.connectionConfiguration(applicationName: "listener"), id: 1, logger: quietLogger)
            let released = try await connection.listen(on: "spoolrunner_work") { notifications in
                let released = try await a.release(leaseA)
                for try await _ in notifications { break }
                return released
            }
            try await connection.close()
            #expect(released == ["p1", "p2", "p3"])
            #expect(
                try await a.value("SELECT state FROM runners WHERE runner_id = 'runner-0'", as: String.self)
                    == "stopped")
            #expect(try await a.values("SELECT DISTINCT lease_epoch FROM processes", as: Int64.self) == [2])
            // Another runner continues them at once, without waiting for a lease to expire.
            #expect(try await b.claim(limit: 5, lease: leaseB).map(\.leaseEpoch) == [3, 3, 3])
            // A stopped incarnation neither claims nor renews.
            #expect(try await a.claim(limit: 5, lease: leaseA).isEmpty)
            await #expect(throws: PostgresStoreError.self) { _ = try await a.renew(leaseA) }
        }
    }
}
