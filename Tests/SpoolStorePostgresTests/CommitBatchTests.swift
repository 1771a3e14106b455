import Foundation
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// `serve --commit-batch N`: no store transaction carries the changes of more than N
    /// processes. Counted in the store itself: every row PostgreSQL writes records its
    /// transaction (`xmin`), so the events rows grouped by `xmin` are the runner's commits.
    @Suite(.serialized) struct CommitBatchTests {
        static let noop = """
            tasks:
              - name: first
                sleep: 0s
              - name: second
                sleep: 0s
            """
        static let requests = 30

        /// Runs one runner named `name` with `extra` over `requests` requests dropped before it
        /// starts (so its first batch has them all), until every one succeeded; returns the most
        /// processes one of its transactions wrote events for.
        static func run(_ name: String, _ extra: [String], on db: PostgresStore) async throws -> Int {
            let shared = try FleetServeTests.sharedDirectory()
            let host = try FleetHost(name, shared: shared)
            try host.define("noop.yaml", Self.noop)
            for index in 1...Self.requests { try host.drop("\(name)-\(index)", #"{"process_type": "noop"}"#) }
            // Room for every process, so that none is handed to the fleet and claimed back.
            let runner = try host.start(db.url, ["--max-tasks", "64"] + extra)
            let done = await eventually(timeout: 60) {
                (1...Self.requests).allSatisfy { host.status("\(name)-\($0)") == "success" }
            }
            #expect(done, "\(runner.log.suffix(3000))")
            runner.kill(SIGTERM)
            #expect(runner.wait() == 0, "\(runner.log.suffix(2000))")
            let sizes: [Int64] = try await db.values(
                """
                SELECT count(DISTINCT process_id) FROM events
                 WHERE runner_id = \(name) AND event IN ('accepted', 'task_started', 'task_succeeded', 'process_succeeded')
                 GROUP BY xmin::text
                """)
            let succeeded: Int64? = try await db.value(
                "SELECT count(*) FROM processes WHERE process_id LIKE \(name + "-%") AND status = 'success'")
            #expect(succeeded == Int64(Self.requests))
            return Int(sizes.max() ?? 0)
        }

        @Test func noTransactionCarriesMoreProcessesThanTheCommitBatch() async throws {
            try await withStores("commit_batch", migrate: false) { stores in
                let db = stores[0]
                // Off: one process's changes per transaction.
                let single = try await Self.run("single", ["--commit-batch", "1"], on: db)
                #expect(single == 1)
                // A cap of 4: the first batch held all 30 accepted requests, so it was cut to 4.
                let four = try await Self.run("four", ["--commit-batch", "4"], on: db)
                #expect(four == 4)
                // The default (500): the 30 requests of the first scan are accepted together.
                let free = try await Self.run("free", [], on: db)
                #expect(free == Self.requests)
            }
        }
    }
}
