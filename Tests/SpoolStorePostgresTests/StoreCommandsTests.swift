import Foundation
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// `status`, `history`, `events`, `rejections` and `prune` with `--store`: the real binary against
/// the test server, run from a directory with no spool.
@Suite("The read commands and prune on a PostgreSQL store")
struct StoreCommandsTests {
    /// The same history for both stores: three processes (one running, one succeeded, one
    /// failed long ago) and a rejection.
    @Sendable static func fill(_ store: any Store) async throws {
        _ = try await store.commit(
            StoreBatch(
                changes: ["p1", "p2", "old"].enumerated().map { Fixture.accepted($1, created: Double($0)) },
                rejections: [
                    RejectionRecord(
                        fileName: "bad.json", receivedAt: at(4), code: .invalidJSON, message: "line 1: not JSON")
                ]))
        _ = try await store.commit(
            StoreBatch(changes: [
                Fixture.running("p1", created: 0, started: 5, states: ["done": .success, "redo": .running]),
                Fixture.ended("p2", created: 1, ended: 9, status: .success),
                Fixture.ended("old", created: 2, ended: 10, status: .failed),
            ]))
    }

    /// The URL text of a test database, with a password the server (trust) ignores: it must never
    /// be printed.
    static func urlText(_ url: StoreURL) -> String {
        "postgres://\(url.user):hunter2@127.0.0.1:\(RunnersTests.port(url))/\(url.database)?sslmode=disable"
    }

    @Test("status, history, events and rejections read the store from a directory with no spool")
    func reads() async throws {
        let empty = NSTemporaryDirectory() + "no-spool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let sqlitePath = "\(empty)/../copy-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: sqlitePath) }
        try await Self.fill(try SQLiteStore(path: sqlitePath))

        try await withStore(.postgres, "store_cli") { sut in
            try await Self.fill(sut.store)
            let url = try #require(sut.postgres).url
            let text = Self.urlText(url)
            func run(_ arguments: [String], _ environment: [String: String] = [:]) async throws -> RunnersTests.Result {
                let result = try await RunnersTests.spoolrunner(arguments, environment: environment, directory: empty)
                #expect(!result.output.contains("hunter2") && !result.error.contains("hunter2"), "\(arguments)")
                return result
            }

            // status --json: the bytes a subscribed runner writes, from the same document code.
            let stored = try #require(try await sut.store.snapshot("p1"))
            let status = try await run(["status", "p1", "--store", text, "--json"])
            #expect(status.status == 0, "\(status.error)")
            #expect(
                status.output
                    == String(
                        decoding: StatusDocument(process: stored.record, tasks: stored.tasks).jsonData(), as: UTF8.self)
            )
            let human = try await run(["status", "p2"], ["SPOOLRUNNER_STORE": text])
            #expect(human.status == 0 && human.output.contains("p2  greet  SUCCESS"), "\(human.output)\(human.error)")
            let unknown = try await run(["status", "nope", "--store", text])
            #expect(unknown.status == 66, "\(unknown.error)")
            #expect(
                unknown.error.contains("no process 'nope' in store postgres://\(url.user):***@"), "\(unknown.error)")

            // history, events, rejections: the same output as from the SQLite store of the same data
            // (the table's TOOK of a running process counts up to now: finished ones only there).
            for arguments in [
                ["history", "--json"], ["history", "--json", "--status", "success"],
                ["history", "--type", "greet", "--status", "success"],
                ["events", "p1", "--json"], ["events", "p1"], ["rejections", "--json"], ["rejections"],
            ] {
                let fromStore = try await run(arguments + ["--store", text])
                let fromSQLite = try await run(arguments + ["--db", sqlitePath])
                #expect(fromStore.status == 0, "\(arguments): \(fromStore.error)")
                #expect(fromSQLite.status == 0, "\(arguments): \(fromSQLite.error)")
                #expect(fromStore.output == fromSQLite.output, "\(arguments)")
                #expect(!fromStore.output.isEmpty)
            }
            let history = try await run(["history", "--json"], ["SPOOLRUNNER_STORE": text])
            let rows = try JSONSerialization.jsonObject(with: Data(history.output.utf8)) as? [[String: Any]]
            #expect(rows?.compactMap { $0["process_id"] as? String } == ["old", "p2", "p1"])
            let noEvents = try await run(["events", "nope", "--store", text])
            #expect(noEvents.status == 66, "\(noEvents.error)")
        }
    }

    @Test(
        "usage errors: --db with --store, both variables, a password file without a store; unmigrated and unreachable stores"
    )
    func refusals() async throws {
        let server = try PostgresTestServer.require()
        let url = try await server.database("store_cli_refusals")
        let text = Self.urlText(url)
        for (arguments, environment) in [
            (["history", "--db", "/tmp/x.sqlite", "--store", text], [String: String]()),
            (["events", "p1", "--db", "/tmp/x.sqlite", "--store", text], [:]),
            (["prune", "--older-than", "1d", "--db", "/tmp/x.sqlite", "--store", text], [:]),
            (["rejections"], ["SPOOLRUNNER_DB": "/tmp/x.sqlite", "SPOOLRUNNER_STORE": text]),
            (["history", "--store-password-file", "/etc/hostname"], [:]),
            (["status", "p1", "--store", "mysql://u:hunter2@db/x"], [:]),
        ] {
            let result = try await RunnersTests.spoolrunner(arguments, environment: environment)
            #expect(result.status == 64, "\(arguments): \(result.error)")
            #expect(!result.error.contains("hunter2"), "\(result.error)")
        }
        // A database no runner has set up yet: nothing to read (66), saying what to run.
        let unmigrated = try await RunnersTests.spoolrunner(["history", "--store", text])
        #expect(unmigrated.status == 66, "\(unmigrated.error)")
        #expect(unmigrated.error.contains("spoolrunner migrate"), "\(unmigrated.error)")
        // A server that is not there: 74, the URL redacted.
        let closed = try await RunnersTests.spoolrunner(
            ["status", "p1", "--store", "postgres://spoolrunner:hunter2@127.0.0.1:1/x?sslmode=disable"])
        #expect(closed.status == 74, "\(closed.error)")
        #expect(closed.error.contains("spoolrunner:***@127.0.0.1:1") && !closed.error.contains("hunter2"))
    }

    @Test("prune --store deletes finished processes from the store and this host's files")
    func prune() async throws {
        let spool = NSTemporaryDirectory() + "prune-spool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(spool)/outbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        for id in ["p1", "p2", "old"] {
            try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(spool)/outbox/\(id).json"))
        }
        try await withStore(.postgres, "store_cli_prune") { sut in
            try await Self.fill(sut.store)
            let text = Self.urlText(try #require(sut.postgres).url)
            let dry = try await RunnersTests.spoolrunner(
                ["prune", "--older-than", "1h", "--dry-run", "--store", text, "--spool", spool])
            #expect(dry.status == 0, "\(dry.error)")
            #expect(dry.output.hasPrefix("p2\nold\nwould prune 2 process(es)"), "\(dry.output)")
            #expect(dry.output.contains("1 rejection row(s)"), "\(dry.output)")
            let pruned = try await RunnersTests.spoolrunner([
                "prune", "--older-than", "1h", "--store", text, "--spool", spool,
            ])
            #expect(pruned.status == 0, "\(pruned.error)")
            #expect(pruned.output.contains("pruned 2 process(es)"), "\(pruned.output)")
            #expect(try await sut.store.processes(ProcessQuery()).map(\.processID) == ["p1"])
            #expect(try await sut.store.rejections(RejectionQuery()).isEmpty)
            #expect(try await sut.store.events(of: "old", after: 0).isEmpty)
            let left = try FileManager.default.contentsOfDirectory(atPath: "\(spool)/outbox")
            #expect(left == ["p1.json"])
            // From a directory with no spool: the store alone.
            let again = try await RunnersTests.spoolrunner(
                ["prune", "--older-than", "1h", "--store", text], directory: "\(spool)/outbox")
            #expect(again.status == 0 && again.output.contains("pruned 0 process(es)"), "\(again.output)")
        }
    }

    @Test("prune on PostgreSQL goes in chunks: more than one chunk is all deleted, unfinished ones kept")
    func pruneChunks() async throws {
        try await withStore(.postgres, "prune_chunks") { sut in
            let postgres = try #require(sut.postgres)
            // Rows straight in SQL: 25,000 ended processes and one unfinished, fast.
            try await postgres.execute(
                """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                       ended_at, updated_at, request_sha256, definition_sha256)
                SELECT 'x' || i, 'greet', CASE WHEN i = 0 THEN 'running' ELSE 'success' END, '{}', '{}',
                       now() - interval '3 days', now() - interval '2 days', now(), '\\x00', '\\x00'
                  FROM generate_series(0, 25000) AS i
                """)
            let result = try await postgres.prune(before: Date().addingTimeInterval(-86_400), keeping: ["x7"])
            #expect(result.processIDs.count == 24_999)
            #expect(!result.processIDs.contains("x0") && !result.processIDs.contains("x7"))
            #expect(try await postgres.values("SELECT process_id FROM processes ORDER BY 1") == ["x0", "x7"])
        }
    }
}
