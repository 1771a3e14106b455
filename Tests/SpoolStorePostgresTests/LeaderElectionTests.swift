import Foundation
import PostgresNIO
import SpoolStorePostgres
import Synchronization
import Testing

@Suite("Leader election")
struct LeaderElectionTests {
    /// Who leads, as the elections report it.
    final class Leaders: Sendable {
        let state = Mutex<[String: Bool]>([:])
        func set(_ runner: String, _ leads: Bool) { state.withLock { $0[runner] = leads } }
        var current: [String] { state.withLock { $0.filter(\.value).keys.sorted() } }
    }

    static func waitFor(_ what: String, within: Duration = .seconds(10), _ condition: () async throws -> Bool)
        async throws
    {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test("one leader; killing its control connection ends its leadership at once and another takes over")
    func failover() async throws {
        try await withStores("leader", count: 3) { stores in
            let leaders = Leaders()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores {
                    let election = try LeaderElection(
                        url: store.url, runnerID: store.runnerID, retryInterval: .milliseconds(100),
                        logger: quietLogger)
                    group.addTask { await election.run { leaders.set(store.runnerID, $0) } }
                }
                try await Self.waitFor("a leader") { leaders.current.count == 1 }
                // Stays one for a few rounds of the others trying.
                try await Task.sleep(for: .milliseconds(400))
                #expect(leaders.current.count == 1)
                let first = try #require(leaders.current.first)

                // The server ends the leader's session (as a network cut noticed by keepalives would).
                let terminated = try await stores[0].value(
                    """
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE application_name = \("spoolrunner/\(first)/control") AND datname = current_database()
                    """, as: Int64.self)
                #expect(terminated == 1)
                try await Self.waitFor("a new leader") {
                    let now = leaders.current
                    return now.count == 1 && now != [first]
                }
                // The old one reconnected as a follower.
                try await Self.waitFor("three control sessions") {
                    try await stores[0].value(
                        """
                        SELECT count(*) FROM pg_stat_activity
                         WHERE application_name LIKE 'spoolrunner/%/control' AND datname = current_database()
                        """,
                        as: Int64.self) == 3
                }
                #expect(leaders.current.count == 1)
                group.cancelAll()
            }
            #expect(leaders.current.isEmpty, "cancelled elections still lead: \(leaders.current)")
        }
    }

    /// A leader that stops unlocks and notifies `spoolrunner_leader`; a follower takes the lock on
    /// that notification, long before its next round (a minute away here).
    @Test("a leader that stops notifies; a follower takes over at once")
    func stepDownNotifies() async throws {
        try await withStores("leader_notify", count: 2) { stores in
            let leaders = Leaders()
            let listener = LeaderElection.Listener(channels: [], onListening: {}, onNotification: { _, _ in })
            let first = try LeaderElection(
                url: stores[0].url, runnerID: stores[0].runnerID, retryInterval: .seconds(60), logger: quietLogger)
            let second = try LeaderElection(
                url: stores[1].url, runnerID: stores[1].runnerID, retryInterval: .seconds(60), logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await first.run(listening: listener) { leaders.set(stores[0].runnerID, $0) } }
                try await Self.waitFor("the first leader") { leaders.current == [stores[0].runnerID] }
                let leading = Task { await second.run(listening: listener) { leaders.set(stores[1].runnerID, $0) } }
                // The second one is connected, listening, and has tried the lock once.
                try await Self.waitFor("two control sessions") {
                    try await stores[0].value(
                        """
                        SELECT count(*) FROM pg_stat_activity
                         WHERE application_name LIKE 'spoolrunner/%/control' AND datname = current_database()
                           AND state = 'idle'
                        """, as: Int64.self) == 2
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(leaders.current == [stores[0].runnerID])
                group.cancelAll()
                try await Self.waitFor("the second leader", within: .seconds(20)) {
                    leaders.current == [stores[1].runnerID]
                }
                leading.cancel()
                await leading.value
            }
        }
    }
}
