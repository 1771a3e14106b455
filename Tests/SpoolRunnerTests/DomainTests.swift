import Foundation
import GRDB
import Testing

@testable import SpoolRunner
@testable import SpoolStore

/// The typed domain keeps the stored text of SPEC §3, §4 and §7: enums compare as cases, and
/// their raw values are the strings of status files, rejection files and the history store.
@Suite(.endToEnd) struct DomainTests {
    @Test(arguments: RequestRejection.Code.allCases)
    func aRejectionCodeIsTheFailureCodeOfTheSameText(code: RequestRejection.Code) {
        #expect(code.failureCode.rawValue == code.rawValue)
    }

    @Test func onlyAFailedRunOfTheProgramIsRetried() {
        #expect(FailureCode.allCases.filter(\.isRetryable) == [.exitStatus, .timeout])
    }

    @Test func failureEventsAreLoggedAsWarnings() {
        #expect(EventKind.allCases.filter(\.isFailure) == [.taskFailed, .processFailed, .crashLoop])
    }

    @Test func enumsInterpolateAsTheirStoredText() {
        #expect("\(FailureCode.exitStatus)" == "exit_status")
        #expect("\(EventKind.taskInterrupted)" == "task_interrupted")
        #expect("\(ProcessStatus.cancelled)" == "cancelled")
        #expect("\(TaskStatus.retrying)" == "retrying")
    }

    @Test func aDateIsStoredAsFixedWidthTextToTheMillisecondAndReadBack() throws {
        let store = try SQLiteStore(inMemory: ())
        // 0.9999 ms past a millisecond: stored rounded down, as status files show it.
        let created = Date(timeIntervalSince1970: 1_784_559_600.123_9)
        var record = ProcessRecord(
            processID: "p1", processType: "t", status: .running, inputs: [:], requestJSON: "{}", createdAt: created,
            updatedAt: created)
        record.startedAt = created.addingTimeInterval(1)
        let stored = record
        try store.testWriter.write { db in try stored.insert(db) }
        let texts = try store.testDatabase.read { db -> [String?] in
            let row = try Row.fetchOne(db, sql: "SELECT created_at, started_at, ended_at FROM processes")
            return [row?["created_at"], row?["started_at"], row?["ended_at"]]
        }
        #expect(texts == ["2026-07-20T15:00:00.123Z", "2026-07-20T15:00:01.123Z", nil])
        let fetched = try #require(try store.testDatabase.read { db in try ProcessRecord.fetchOne(db, key: "p1") })
        #expect(abs(fetched.createdAt.timeIntervalSince1970 - 1_784_559_600.123) < 1e-6)
        #expect(fetched.endedAt == nil)
        // The status file shows the same text as the store.
        let document = StatusDocument(process: fetched, tasks: [])
        #expect(document.createdAt == "2026-07-20T15:00:00.123Z")
        #expect(document.startedAt == "2026-07-20T15:00:01.123Z")
    }

    @Test func aStoredTimeThatIsNotATimestampFailsToLoadInsteadOfBecomingAnotherDate() throws {
        let store = try SQLiteStore(inMemory: ())
        try store.testWriter.write { db in
            try db.execute(
                sql: """
                    INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at, updated_at)
                    VALUES ('p1', 't', 'pending', '{}', '{}', 'yesterday', '2026-07-20T15:00:00.000Z')
                    """)
        }
        #expect(throws: (any Error).self) {
            try store.testDatabase.read { db in try ProcessRecord.fetchOne(db, key: "p1") }
        }
    }
}
