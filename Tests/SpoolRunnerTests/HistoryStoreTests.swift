import Foundation
import GRDB
import ProcessDefinitions
import Testing

@testable import SpoolRunner
@testable import SpoolStore

/// The history schema of SPEC §7, built by the real migrator, and the records that map onto it.
@Suite(.endToEnd) struct HistoryStoreTests {
    /// The columns SPEC §7 promises, per table.
    static let contract: [(table: String, columns: [String])] = [
        (
            "processes",
            [
                "process_id", "process_type", "status", "inputs_json", "request_json", "created_at", "started_at",
                "ended_at", "error_json",
            ]
        ),
        (
            "tasks",
            [
                "process_id", "task_name", "status", "attempts", "started_at", "ended_at", "exit_code", "output_json",
                "error_json",
            ]
        ),
        ("events", ["id", "process_id", "task_name", "event", "at", "detail_json"]),
        ("rejections", ["id", "file_name", "received_at", "code", "message"]),
    ]

    @Test(arguments: contract.map(\.table))
    func tableHasTheContractColumns(table: String) throws {
        let store = try SQLiteStore(inMemory: ())
        let columns = try store.testDatabase.read { db in try db.columns(in: table).map(\.name) }
        let expected = try #require(Self.contract.first { $0.table == table }).columns
        for column in expected {
            #expect(columns.contains(column), "\(table).\(column) missing; has \(columns)")
        }
    }

    @Test func keysAreAsSpecified() throws {
        let store = try SQLiteStore(inMemory: ())
        let keys = try store.testDatabase.read { db in
            (
                try db.primaryKey("processes").columns, try db.primaryKey("events").columns,
                try db.primaryKey("rejections").columns,
                try db.primaryKey("tasks").columns
            )
        }
        #expect(keys.0 == ["process_id"])
        #expect(keys.1 == ["id"])
        #expect(keys.2 == ["id"])
        #expect(Set(keys.3) == ["process_id", "task_name"])
        // events.task_name is nullable: process-level events have none.
        let taskName = try store.testDatabase.read { db in try db.columns(in: "events").first { $0.name == "task_name" }
        }
        #expect(taskName?.isNotNull == false)
    }

    @Test func userVersionIsTheLatestMigrationAndMigratingAgainChangesNothing() throws {
        let store = try SQLiteStore(inMemory: ())
        #expect(
            try store.testDatabase.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") }
                == HistoryMigrator.currentVersion)
        #expect(
            try store.testDatabase.read { db in try HistoryMigrator.migrator.appliedIdentifiers(db).count }
                == HistoryMigrator.currentVersion)
        let writer = try store.testWriter
        try HistoryMigrator.migrator.migrate(writer)
        #expect(
            try store.testDatabase.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") }
                == HistoryMigrator.currentVersion)
        #expect(try writer.read { db in try HistoryMigrator.migrator.hasCompletedMigrations(db) })
    }

    /// A fixed time, written the way the store writes it.
    static func date(_ text: String) -> Date {
        guard let date = Timestamp.parse(text) else { preconditionFailure("not a timestamp: \(text)") }
        return date
    }

    static func sampleProcess(_ id: String = "p1") -> ProcessRecord {
        var record = ProcessRecord(
            processID: id, processType: "premium_subscription", status: .failed,
            inputs: ["user_id": .string("user_123"), "n": .integer(2)],
            requestJSON: #"{"process_type": "premium_subscription", "user_id": "user_123", "n": 2}"#,
            createdAt: date("2026-07-20T15:00:00.000Z"), updatedAt: date("2026-07-20T15:00:02.000Z"))
        record.startedAt = date("2026-07-20T15:00:00.004Z")
        record.endedAt = date("2026-07-20T15:00:02.000Z")
        record.error = FailureInfo(code: .exitStatus, message: "task 'validate_user' failed", task: "validate_user")
        return record
    }

    /// Every `history` filter reads the newest rows through an index, in order, without sorting
    /// the matching rows first (issue 10, W6: the status filter sorted 100,000 rows of 1,000,000).
    @Test(arguments: [
        "WHERE status = 'failed'", "WHERE process_type = 'premium'", "WHERE created_at >= '2026-01-01'", "",
    ])
    func historyQueriesUseAnIndexInOrder(filter: String) throws {
        let store = try SQLiteStore(inMemory: ())
        let plan = try store.testDatabase.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT * FROM processes \(filter) ORDER BY created_at DESC LIMIT 50"
            ).map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("USING INDEX"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }

    @Test func processRecordRoundTripsAsPlainSQL() throws {
        let store = try SQLiteStore(inMemory: ())
        let record = Self.sampleProcess()
        try store.testWriter.write { db in try record.insert(db) }
        let row = try #require(
            try store.testDatabase.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM processes WHERE process_id = 'p1'")
            })
        #expect(row["status"] == "failed")
        #expect(row["process_type"] == "premium_subscription")
        #expect(row["request_json"] == record.requestJSON)
        #expect(row["started_at"] == "2026-07-20T15:00:00.004Z")
        // JSON columns hold JSON text that sqlite3 users can read.
        let inputs = try JSONSerialization.jsonObject(with: Data((row["inputs_json"] as String).utf8)) as? [String: Any]
        #expect(inputs?["user_id"] as? String == "user_123")
        #expect(inputs?["n"] as? Int == 2)
        let error = try JSONSerialization.jsonObject(with: Data((row["error_json"] as String).utf8)) as? [String: Any]
        #expect(error?["code"] as? String == "exit_status")
        #expect(error?["task"] as? String == "validate_user")
        #expect(
            try store.testDatabase.read { db in
                try Int.fetchOne(db, sql: "SELECT json_valid(inputs_json) AND json_valid(error_json) FROM processes")
            } == 1)

        let fetched = try #require(try store.testDatabase.read { db in try ProcessRecord.fetchOne(db, key: "p1") })
        #expect(fetched.status == .failed)
        #expect(fetched.inputs == record.inputs)
        #expect(fetched.error == record.error)
        #expect(fetched.endedAt == record.endedAt)
    }

    @Test func taskRowsAreUpdatedInPlace() throws {
        let store = try SQLiteStore(inMemory: ())
        try store.testWriter.write { db in try Self.sampleProcess().insert(db) }
        var task = TaskRecord(processID: "p1", taskName: "validate_user", position: 0, mode: .sync, onFailure: false)
        try store.testWriter.write { db in try task.upsert(db) }
        task.status = .success
        task.attempts = 2
        task.startedAt = Self.date("2026-07-20T15:00:00.005Z")
        task.endedAt = Self.date("2026-07-20T15:00:01.010Z")
        task.exitCode = 0
        task.output = ["plan": .string("gold")]
        let updated = task
        try store.testWriter.write { db in try updated.upsert(db) }
        let rows = try store.testDatabase.read { db in try Row.fetchAll(db, sql: "SELECT * FROM tasks") }
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["status"] == "success")
        #expect(row["attempts"] == 2)
        #expect(row["exit_code"] == 0)
        #expect(
            row["output_json"] as String? == #"{"plan":"gold"}"#
                || (row["output_json"] as String?)?.contains("gold") == true)
        #expect((row["error_json"] as String?) == nil)
        let fetched = try #require(try store.testDatabase.read { db in try TaskRecord.fetchOne(db) })
        #expect(fetched.output == ["plan": .string("gold")])
        #expect(fetched.status == .success)
    }

    @Test func eventsAndRejectionsAreAppendedWithIncreasingIDs() throws {
        let store = try SQLiteStore(inMemory: ())
        let ids = try store.testWriter.write { db -> [Int64?] in
            var first = EventRecord(
                processID: "p1", event: .accepted, at: Self.date("2026-07-20T15:00:00.000Z"),
                detail: ["file": .string("p1.json")]
            )
            var second = EventRecord(
                processID: "p1", taskName: "validate_user", event: .taskStarted,
                at: Self.date("2026-07-20T15:00:00.005Z"))
            try first.insert(db)
            try second.insert(db)
            return [first.id, second.id]
        }
        let first = try #require(ids[0])
        let second = try #require(ids[1])
        #expect(second > first)
        let rows = try store.testDatabase.read { db in
            try Row.fetchAll(db, sql: "SELECT task_name, event, detail_json FROM events ORDER BY id")
        }
        #expect(rows.map { $0["event"] as String } == ["accepted", "task_started"])
        #expect(rows[0]["task_name"] as String? == nil)
        #expect(rows[1]["task_name"] as String? == "validate_user")
        #expect((rows[0]["detail_json"] as String?)?.contains("p1.json") == true)

        let rejection = try store.testWriter.write { db -> RejectionRecord in
            var rejection = RejectionRecord(
                fileName: "bad.json", receivedAt: Self.date("2026-07-20T15:00:00.000Z"), code: .invalidJSON,
                message: "not JSON")
            try rejection.insert(db)
            return rejection
        }
        #expect(rejection.id != nil)
        let stored = try store.testDatabase.read { db in
            try Row.fetchOne(db, sql: "SELECT file_name, code, message FROM rejections")
        }
        #expect(stored?["file_name"] == "bad.json")
        #expect(stored?["code"] == "invalid_json")
    }

    // MARK: - The file store

    @Test func fileStoreUsesWALAndWaitsForLocks() throws {
        let directory = NSTemporaryDirectory() + "history-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/history.sqlite"
        do {
            let store = try SQLiteStore(path: path)
            let (journal, busy, version) = try store.testWriter.write { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Int.fetchOne(db, sql: "PRAGMA busy_timeout"), try Int.fetchOne(db, sql: "PRAGMA user_version")
                )
            }
            #expect(journal?.lowercased() == "wal")
            #expect((busy ?? 0) >= 5000, "busy_timeout \(busy ?? 0) ms")
            #expect(version == HistoryMigrator.currentVersion)
            try store.testWriter.write { db in try Self.sampleProcess().insert(db) }
        }
        // Reopened (migrations run again on start): the data and the version are kept.
        let reopened = try SQLiteStore(path: path)
        #expect(try reopened.testDatabase.read { db in try ProcessRecord.fetchCount(db) } == 1)
        #expect(
            try reopened.testDatabase.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") }
                == HistoryMigrator.currentVersion)

        // The CLI's read-only view reads, and cannot write.
        let readOnly = SQLiteStore(readOnlyPath: path)
        #expect(try readOnly.testDatabase.read { db in try ProcessRecord.fetchOne(db, key: "p1")?.status } == .failed)
        #expect(throws: (any Error).self) {
            try readOnly.testDatabase.read { db in try db.execute(sql: "DELETE FROM processes") }
        }
        #expect(throws: StoreError.self) { try readOnly.testWriter }
    }

    @Test func readOnlyStoreRefusesAMissingFile() async throws {
        let path = NSTemporaryDirectory() + "no-such-history-" + UUID().uuidString + ".sqlite"
        let store = SQLiteStore(readOnlyPath: path)
        await #expect {
            _ = try await store.processes(ProcessQuery())
        } throws: { error in
            (error as? StoreError)?.code == .notFound && "\(error)".contains(path)
        }
        #expect(!FileManager.default.fileExists(atPath: path), "a read-only open must not create the file")
    }

    /// A store migrated by a newer spoolrunner is refused, naming both versions; `serve` exits 76.
    @Test func aStoreFromANewerSpoolrunnerIsRefused() async throws {
        let spool = try TemporarySpool()
        let path = spool.layout.defaultDatabase
        do {
            let store = try SQLiteStore(path: path)
            try await store.testWriter.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99 from the future')")
                try db.execute(sql: "PRAGMA user_version = 99")
            }
        }
        #expect {
            _ = try SQLiteStore(path: path)
        } throws: { error in
            guard let error = error as? StoreError, error.code == .schemaTooNew else { return false }
            return error.message.contains("99") && error.message.contains("\(HistoryMigrator.currentVersion)")
        }
        let serve = try await spool.run(["serve", "--once"])
        #expect(serve.status == 76, "\(serve.standardError)")
        #expect(serve.standardError.contains("schema version 99"), "\(serve.standardError)")
    }
}
