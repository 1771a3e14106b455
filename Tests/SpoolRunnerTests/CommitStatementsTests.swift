import Foundation
import GRDB
import ProcessDefinitions
import Testing

@testable import SpoolRunner
@testable import SpoolStore

/// The commit's prepared statements write exactly the rows GRDB's records write (issue 10: the
/// statements replaced the records on the hot path; the history schema and its text must not
/// change, since users read the rows with `sqlite3`).
@Suite(.endToEnd) struct CommitStatementsTests {
    static func date(_ text: String) -> Date { HistoryStoreTests.date(text) }

    /// Values that take the direct path and values that must not (escapes, slashes, unicode,
    /// doubles, several keys, nesting).
    static let objects: [[String: JSONValue]] = [
        [:],
        ["attempt": .integer(1)],
        ["attempt": .integer(-9_223_372_036_854_775_808)],
        ["file": .string("p0000001.json")],
        ["user_id": .string("user 123 ~!@#$%^&*()_+-=[]{}|;:',.<>?`")],
        ["flag": .bool(true)], ["flag": .bool(false)], ["none": .null],
        ["path": .string("/tmp/a/b")],
        ["quote": .string("say \"hi\"\\")],
        ["ctl": .string("tab\there\nnew\u{1}\u{7F}")],
        ["uni": .string("café ☕️ 𝄞 \u{2028}")],
        ["café": .integer(1)],
        ["ratio": .number(0.1)], ["big": .number(1e300)], ["whole": .number(2)],
        ["list": .array([.integer(1), .string("a/b"), .null])],
        ["nested": .object(["b": .integer(2), "a": .object(["z": .bool(true)])])],
        [
            "b": .integer(2), "a": .integer(1), "B": .integer(3), "_": .integer(4), "a1": .integer(5),
            "a10": .integer(6),
        ],
    ]

    @Test(arguments: objects)
    func directJSONIsTheEncodersText(object: [String: JSONValue]) throws {
        let encoder = ProcessRecord.databaseJSONEncoder(for: "inputs_json")
        let expected = String(decoding: try encoder.encode(object), as: UTF8.self)
        var column = JSONColumn()
        #expect(try column.text(object) == expected)
        if let direct = JSONColumn.direct(object) { #expect(direct == expected) }
    }

    @Test func theCommonShapesTakeTheDirectPath() {
        #expect(JSONColumn.direct(["attempt": .integer(3)]) == #"{"attempt":3}"#)
        #expect(JSONColumn.direct(["file": .string("p1.json")]) == #"{"file":"p1.json"}"#)
        #expect(JSONColumn.direct(["path": .string("a/b")]) == nil)
        #expect(JSONColumn.direct(["a": .integer(1), "b": .integer(2)]) == nil)
    }

    /// Two batches (a new process; then its changes, a task row new to a known process, and a
    /// rejection) written once through `SQLiteStore.commit` and once through the records' own
    /// `insert`/`update`/`upsert`: every row of every table is the same.
    @Test func commitWritesTheRowsTheRecordsWrite() async throws {
        let batches = Self.batches()
        let statements = try SQLiteStore(inMemory: ())
        for batch in batches { try await statements.commit(batch) }
        let records = try SQLiteStore(inMemory: ())
        for batch in batches {
            try await records.testWriter.write { db in
                for change in batch.changes {
                    if change.isNew {
                        try change.record.insert(db)
                    } else if change.processChanged {
                        try change.record.update(db, columns: ProcessRecord.mutableColumns)
                    }
                    for task in change.tasks { try task.upsert(db) }
                    for var event in change.events { try event.insert(db) }
                }
                for var rejection in batch.rejections { try rejection.insert(db) }
                try MetricCounters.add(batch.counters, in: db)
            }
        }
        for table in ["processes", "tasks", "events", "rejections", "metric_counters"] {
            let sql = "SELECT * FROM \(table) ORDER BY 1, 2"
            let got = try statements.testDatabase.read { db in try Row.fetchAll(db, sql: sql) }
            let want = try records.testDatabase.read { db in try Row.fetchAll(db, sql: sql) }
            #expect(!want.isEmpty, "\(table) has rows")
            #expect(got == want, "\(table)")
        }
    }

    static func batches() -> [StoreBatch] {
        var record = ProcessRecord(
            processID: "p1", processType: "premium", status: .pending,
            inputs: ["user_id": .string("user_123"), "note": .string("a/b \"c\" ☕️"), "n": .number(0.5)],
            requestJSON: #"{"process_type": "premium", "user_id": "user_123"}"#,
            createdAt: date("2026-07-20T15:00:00.000Z"), updatedAt: date("2026-07-20T15:00:00.000Z"))
        var first = TaskRecord(processID: "p1", taskName: "validate_user", position: 0, mode: .sync, onFailure: false)
        let second = TaskRecord(processID: "p1", taskName: "send_email", position: 1, mode: .async, onFailure: false)
        let accepted = StoreBatch.Change(
            record: record, isNew: true, processChanged: true, tasks: [first, second],
            events: [
                EventRecord(
                    processID: "p1", event: .accepted, at: date("2026-07-20T15:00:00.000Z"),
                    detail: ["file": .string("p1.json")])
            ])

        record.status = .failed
        record.startedAt = date("2026-07-20T15:00:00.004Z")
        record.endedAt = date("2026-07-20T15:00:02.000Z")
        record.updatedAt = date("2026-07-20T15:00:02.000Z")
        record.error = FailureInfo(code: .exitStatus, message: "task 'validate_user' failed: see /logs/x", task: nil)
        record.crashCount = 1
        first.status = .failed
        first.attempts = 2
        first.retryBase = 1
        first.startedAt = date("2026-07-20T15:00:00.005Z")
        first.endedAt = date("2026-07-20T15:00:01.010Z")
        first.exitCode = 3
        first.output = ["plan": .string("gold"), "limits": .array([.integer(1), .null])]
        first.error = FailureInfo(code: .exitStatus, message: "exit 3", task: "validate_user")
        first.nextAttemptAt = date("2026-07-20T15:00:03.000Z")
        first.pid = 4242
        first.pidStartTicks = 123_456_789
        first.sleepUntil = date("2026-07-20T15:00:04.000Z")
        var cleanup = TaskRecord(processID: "p1", taskName: "cleanup", position: 2, mode: .sync, onFailure: true)
        cleanup.status = .running
        cleanup.attempts = 1
        cleanup.startedAt = date("2026-07-20T15:00:01.500Z")
        let failed = StoreBatch.Change(
            record: record, isNew: false, processChanged: true, tasks: [first, cleanup],
            events: [
                EventRecord(
                    processID: "p1", taskName: "validate_user", event: .taskFailed,
                    at: date("2026-07-20T15:00:01.010Z"), detail: ["attempt": .integer(2), "exit_code": .integer(3)]),
                EventRecord(processID: "p1", event: .processFailed, at: date("2026-07-20T15:00:02.000Z")),
            ])
        let rejection = RejectionRecord(
            fileName: "bad one.json", receivedAt: date("2026-07-20T15:00:02.500Z"), code: .invalidJSON,
            message: "bad one.json is not valid JSON: line 1")
        return [StoreBatch(changes: [accepted]), StoreBatch(changes: [failed], rejections: [rejection])]
    }
}
