import Foundation
import PostgresNIO
import SpoolStorePostgres
import Synchronization
import Testing

@Suite("Lease renewal and self-fencing")
struct LeaseKeeperTests {
    final class Counter: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    @Test("renews every lease/5 until cancelled")
    func renews() async throws {
        try await withStores("keeper_renews") { stores in
            let store = try #require(stores.first)
            // A 10 s lease, renewed every 2 s, fenced 6.7 s after the last renewal: the whole suite
            // in parallel on two cores once kept a shorter lease's renewal waiting past its margin,
            // and the keeper rightly fenced. Cancelled as soon as a renewal went through.
            let lease = try await store.registerTestRunner(lease: .seconds(10))
            let keeper = LeaseKeeper(store: store, logger: quietLogger)
            let renewals = Counter()
            let end = try await withThrowingTaskGroup(of: LeaseKeeper.End.self) { group in
                group.addTask { await keeper.run(lease, runningTasks: { 2 }, renewed: { _ in renewals.add() }) }
                let deadline = ContinuousClock.now + .seconds(60)
                while renewals.count < 1, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                group.cancelAll()
                return try await group.next() ?? .leaseLost
            }
            #expect(end == .cancelled)
            #expect(renewals.count >= 1, "\(renewals.count) renewals")
            #expect(try await store.value("SELECT expires_at > now() FROM runners", as: Bool.self) == true)
            #expect(try await store.value("SELECT running_tasks::int8 FROM runners", as: Int64.self) == 2)
        }
    }

    @Test("a lease taken away ends the keeper with .leaseLost")
    func lost() async throws {
        try await withStores("keeper_lost") { stores in
            let store = try #require(stores.first)
            // Long enough that even a slow first renewal (lease/5) comes before the deadline.
            let lease = try await store.registerTestRunner(lease: .seconds(10))
            let keeper = LeaseKeeper(store: store, logger: quietLogger)
            try await store.execute("UPDATE runners SET state = 'dead'")
            #expect(await keeper.run(lease) == .leaseLost)
        }
    }

    @Test("renewals that cannot get through: fenced at the deadline, before the database's expiry")
    func deadline() async throws {
        try await withStores("keeper_deadline") { stores in
            let store = try #require(stores.first)
            // Another session holds the runner's row: every renewal waits on its lock, as one
            // lost in a network partition would. Connected before the lease starts, and a 3 s
            // lease (fenced at 2 s, expired at 3 s): a loaded machine keeps the order visible.
            let blocker = try await PostgresConnection.connect(
                configuration: store.url.connectionConfiguration(applicationName: "blocker"), id: 1,
                logger: quietLogger)
            let lease = try await store.registerTestRunner(lease: .seconds(3))
            let keeper = LeaseKeeper(store: store, logger: quietLogger)
            try await blocker.query("BEGIN", logger: quietLogger)
            try await blocker.query("SELECT 1 FROM runners FOR UPDATE", logger: quietLogger)
            let end = await keeper.run(lease)
            let fencedAt = ContinuousClock.now
            // Still valid on the database when the runner fenced itself: nobody can have taken
            // its work yet.
            var stillValid = false
            for try await valid in try await blocker.query(
                "SELECT expires_at > now() FROM runners", logger: quietLogger
            )
            .decode(Bool.self) {
                stillValid = valid
            }
            try await blocker.query("ROLLBACK", logger: quietLogger)
            try await blocker.close()
            #expect(end == .deadlinePassed)
            #expect(stillValid)
            #expect(fencedAt >= lease.deadline)
        }
    }
}
