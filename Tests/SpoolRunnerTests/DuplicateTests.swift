import Foundation
import Testing

@testable import SpoolRunner

/// SPEC §3: the file name is the idempotency key. The same bytes again are the same request;
/// other bytes under a taken id are a `duplicate_process_id` rejection that leaves the existing
/// process alone.
@Suite(.endToEnd) struct DuplicateTests {
    static let definition = """
        inputs:
          user_id: {type: string, required: true}
        tasks:
          - name: count
            shell: 'echo "$SPOOL_ATTEMPT" >> runs.log'
        """
    static let request = #"{"process_type": "greet", "user_id": "user_1"}"#

    static func spoolWithOneProcess() async throws -> (TemporarySpool, Data) {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", definition)
        try spool.drop("p1", request)
        try await runEngineOnce(spool)
        #expect(spool.status("p1")?.status == .success)
        return (spool, try #require(spool.statusBytes("p1")))
    }

    @Test func identicalReDropChangesNothing() async throws {
        let (spool, before) = try await Self.spoolWithOneProcess()
        let createdAt = spool.status("p1")?.createdAt
        let events = try spool.eventNames("p1")

        try spool.drop("p1", Self.request)
        try await runEngineOnce(spool) { $0.settle = .zero }
        #expect(spool.inboxFiles().isEmpty, "the identical request file is removed")
        #expect(spool.rejectedFiles().isEmpty)
        #expect(spool.statusBytes("p1") == before)
        #expect(spool.status("p1")?.createdAt == createdAt)
        #expect(try spool.processRowCount("p1") == 1)
        #expect(try spool.eventNames("p1") == events)
        #expect(try spool.rejectionRows().isEmpty)
        #expect(spool.workFile("p1", "runs.log") == "1\n", "the task ran again")
    }

    @Test(arguments: [
        #"{"process_type": "greet", "user_id": "user_2"}"#,
        #"{"process_type":"greet","user_id":"user_1"}"#,
        #"{"process_type": "greet", "user_id": "user_1"}"# + "\n",
        #"{"process_type": "nope"}"#,
        "[not even json",
    ])
    func conflictingContentIsRejectedAndTheExistingProcessUntouched(body: String) async throws {
        let (spool, before) = try await Self.spoolWithOneProcess()
        try spool.writeInbox("p1.json", body)
        try await runEngineOnce(spool) { $0.settle = .zero }

        #expect(spool.inboxFiles().isEmpty)
        #expect(spool.rejectedContents("p1.json") == body)
        let error = try #require(spool.rejectionErrorFile("p1.json")?["error"] as? [String: Any])
        #expect(error["code"] as? String == "duplicate_process_id")
        #expect(try spool.rejectionRows().map(\.code) == ["duplicate_process_id"])
        #expect(spool.statusBytes("p1") == before)
        #expect(try spool.processRowCount("p1") == 1)
        let stored = try spool.history { db in
            try String.fetchOne(db, sql: "SELECT request_json FROM processes WHERE process_id = 'p1'")
        }
        #expect(stored == Self.request)
        #expect(spool.workFile("p1", "runs.log") == "1\n")
    }

    @Test func rejectedIDMayBeSubmittedAgain() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.drop("p1", #"{"process_type": "greet"}"#)
        try await runEngineOnce(spool)
        #expect(spool.status("p1")?.status == .rejected)
        #expect(spool.status("p1")?.error?.code == "invalid_inputs")

        // No process was created, so the corrected request is a new one.
        try spool.drop("p1", Self.request)
        try await runEngineOnce(spool)
        #expect(spool.status("p1")?.status == .success)
        #expect(spool.status("p1")?.error == nil)
        #expect(try spool.processRowCount("p1") == 1)
    }

    @Test func reDropsWhileTheProcessRunsAreHandledOnce() async throws {
        let spool = try TemporarySpool()
        let release = spool.root.appendingPathComponent("release").path
        try spool.define(
            "hold.yaml",
            """
            tasks:
              - name: hold
                shell: 'echo run >> runs.log; \(waitForMarker(release))'
            """)
        let noSettle: (inout EngineConfiguration) -> Void = { $0.settle = .zero }
        try await withEngine(spool, configure: noSettle) { engine in
            let body = #"{"process_type": "hold"}"#
            try engine.drop("p1", body)
            #expect(await engine.eventually(timeout: 20) { engine.status("p1")?.status == .running })

            // The same request again while it runs: removed, nothing new.
            try engine.drop("p1", body)
            #expect(await engine.eventually(timeout: 20) { spool.inboxFiles().isEmpty })
            // Other content under the same id: rejected, the running process untouched.
            try engine.drop("p1", #"{"process_type": "hold", "x": 1}"#)
            #expect(await engine.eventually(timeout: 20) { spool.rejectedFiles().contains("p1.json.error.json") })
            #expect(engine.status("p1")?.status == .running)

            _ = FileManager.default.createFile(atPath: release, contents: nil)
            #expect(await engine.eventually(timeout: 20) { engine.status("p1")?.status == .success })
        }
        #expect(spool.workFile("p1", "runs.log") == "run\n")
        #expect(try spool.processRowCount("p1") == 1)
        #expect(try spool.rejectionRows().map(\.code) == ["duplicate_process_id"])
    }
}
