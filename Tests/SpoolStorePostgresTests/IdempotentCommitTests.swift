import Foundation
import PostgresNIO
import SpoolStorePostgres
import Synchronization
import Testing

@testable import SpoolRunner

/// Set once by the task that owns it.
final class EndedFlag: Sendable {
    let value = Mutex(false)
}

/// The batch commit is one call of `spoolrunner_commit` (migration 4), idempotent by a token: a
/// batch whose reply was lost after the server committed is written once, however often the
/// runner sends it again (SPEC §9).
@Suite("One-round-trip, idempotent batch commit")
struct IdempotentCommitTests {
    /// A batch as the store sends it: one new process with a task and its accepted event, one
    /// rejection, one counter.
    static let newProcess = """
        {"new": [{"process_id": "t1", "process_type": "greet", "status": "pending", "inputs_json": {},
                  "request_json": "{}", "created_at": "2026-11-30T06:00:00.000Z",
                  "updated_at": "2026-11-30T06:00:00.000Z", "crash_count": 0, "definition_sha256": "00"}],
         "fence": [], "ids": ["t1"], "processes": [],
         "tasks": [{"process_id": "t1", "task_name": "a", "position": 0, "mode": "sync", "status": "pending",
                    "attempts": 0, "retry_base": 0, "on_failure": false, "runner_id": "runner-0"}],
         "events": [{"process_id": "t1", "event": "accepted", "at": "2026-11-30T06:00:00.000Z"}],
         "rejections": [{"file_name": "bad.json", "received_at": "2026-11-30T06:00:00.000Z",
                         "code": "invalid_json", "message": "not JSON"}],
         "counters": [{"metric": "test_total", "labels_json": "{}", "value": 1}], "notify": true}
        """

    /// The next change of `t1`, held under epoch 1: its task starts.
    static let taskStarts = """
        {"new": [], "fence": [{"process_id": "t1", "lease_epoch": 1}], "ids": ["t1"],
         "processes": [{"process_id": "t1", "status": "running", "started_at": "2026-11-30T06:00:01.000Z",
                        "updated_at": "2026-11-30T06:00:01.000Z", "crash_count": 0}],
         "tasks": [{"process_id": "t1", "task_name": "a", "position": 0, "mode": "sync", "status": "running",
                    "attempts": 1, "retry_base": 0, "on_failure": false, "runner_id": "runner-0"}],
         "events": [{"process_id": "t1", "task_name": "a", "event": "task_started", "at": "2026-11-30T06:00:01.000Z"}],
         "rejections": [], "counters": [{"metric": "test_total", "labels_json": "{}", "value": 1}], "notify": true}
        """

    struct Answer: Decodable, Equatable {
        var owned: [String: Int64]
        var written: [String]
        var lost: [String]
        var cancel: [String]
        var replayed: Bool?
    }

    @Test("called twice with one token, the commit function writes once and answers the same")
    func sameTokenWritesOnce() async throws {
        try await withStores("commit_token") { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner()
            let writer = UUID()
            func commit(_ seq: Int64, _ payload: String) async throws -> Answer {
                let text: String? = try await store.value(
                    """
                    SELECT spoolrunner_commit('runner-0', \(lease.incarnation)::int8, \(writer)::uuid, \(seq)::int8,
                                              NULL::int4, \(payload)::jsonb)::text
                    """)
                return try JSONDecoder().decode(Answer.self, from: Data(try #require(text).utf8))
            }
            func counts() async throws -> [Int64] {
                [
                    try await store.value("SELECT count(*) FROM processes") ?? -1,
                    try await store.value("SELECT count(*) FROM tasks") ?? -1,
                    try await store.value("SELECT count(*) FROM events") ?? -1,
                    try await store.value("SELECT count(*) FROM rejections") ?? -1,
                    try await store.value("SELECT sum(value)::int8 FROM metric_counters") ?? -1,
                ]
            }

            let first = try await commit(1, Self.newProcess)
            #expect(first == Answer(owned: ["t1": 1], written: ["t1"], lost: [], cancel: []))
            #expect(try await counts() == [1, 1, 1, 1, 1])
            // The reply was lost: the runner sends it again under the same token.
            var again = try await commit(1, Self.newProcess)
            #expect(again.replayed == true)
            again.replayed = nil
            #expect(again == first)
            #expect(try await counts() == [1, 1, 1, 1, 1])
            // Under another token the same bytes are a new batch: the id exists (lost), and the
            // rejection and counter are written again. The token is what kept them once above.
            let other = try await commit(2, Self.newProcess)
            #expect(other == Answer(owned: [:], written: [], lost: ["t1"], cancel: []))
            #expect(try await counts() == [1, 1, 1, 2, 2])

            // A held process, with a cancel asked elsewhere: the same answer both times.
            try await store.execute("UPDATE processes SET cancel_requested_at = now() WHERE process_id = 't1'")
            let started = try await commit(3, Self.taskStarts)
            #expect(started == Answer(owned: [:], written: ["t1"], lost: [], cancel: ["t1"]))
            var replayed = try await commit(3, Self.taskStarts)
            #expect(replayed.replayed == true)
            replayed.replayed = nil
            #expect(replayed == started)
            #expect(try await counts() == [1, 1, 2, 2, 3])
            #expect(
                try await store.values("SELECT event FROM events ORDER BY id", as: String.self) == [
                    "accepted", "task_started",
                ])
            #expect(try await store.value("SELECT count(*) FROM commit_tokens", as: Int64.self) == 3)
        }
    }

    @Test("a batch whose reply is lost after the server committed is written once when the runner commits again")
    func lostReply() async throws {
        let server = try PostgresTestServer.require()
        let url = try await server.database("lost_reply")
        let proxy = try TCPProxy(to: url)
        let observer = PostgresStore(url: url, runnerID: "observer", logger: quietLogger)
        let store = PostgresStore(url: proxy.url, runnerID: "runner-0", logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await observer.run() }
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            _ = try await observer.migrate()
            _ = try await store.registerTestRunner()
            try await store.useDefinitions(["greet": StoreUnderTest.definitionYAML])
            let accepted = StoreBatch(changes: [
                Fixture.accepted("p1", created: 0), Fixture.accepted("p2", created: 1),
            ])
            #expect(try await store.commit(accepted) == .empty)

            // p1 starts and a file is rejected; the server commits, the reply never comes back.
            let starts = Fixture.running("p1", created: 0, started: 5, states: ["done": .running])
            let bad = RejectionRecord(fileName: "bad.json", receivedAt: at(5), code: .invalidJSON, message: "not JSON")
            proxy.holdReplies()
            let attemptEnded = EndedFlag()
            let attempt = Task {
                defer { attemptEnded.value.withLock { $0 = true } }
                return try await store.commit(StoreBatch(changes: [starts], rejections: [bad]))
            }
            let committed = await eventually(timeout: 30) {
                try await observer.value("SELECT count(*) FROM events WHERE process_id = 'p1'", as: Int64.self) == 3
            }
            #expect(committed, "the server never committed the batch")
            proxy.cut()
            // Bounded: a cut that never reached the connection must fail the test, not hang it.
            let attemptDone = await eventually(timeout: 30) { attemptEnded.value.withLock { $0 } }
            guard attemptDone else {
                Issue.record("the commit whose reply was held did not end when the proxy cut the connection")
                return
            }
            await #expect(throws: StoreError.self) { _ = try await attempt.value }
            proxy.heal()

            // The engine put that batch back in front of what changed since (SPEC §6: it cannot
            // know whether it was written): p1's task succeeded, p2 started, another rejection.
            var ended = starts
            ended.tasks[0].status = .success
            ended.tasks[0].endedAt = at(6)
            ended.tasks[0].exitCode = 0
            ended.events.append(EventRecord(processID: "p1", taskName: "done", event: .taskSucceeded, at: at(6)))
            let second = Fixture.running("p2", created: 1, started: 6, states: ["done": .running])
            let worse = RejectionRecord(
                fileName: "worse.json", receivedAt: at(6), code: .invalidJSON, message: "not JSON either")
            let retried = StoreBatch(changes: [ended, second], rejections: [bad, worse])
            #expect(try await store.commit(retried) == .empty)

            #expect(
                try await observer.values(
                    "SELECT event FROM events WHERE process_id = 'p1' ORDER BY id", as: String.self)
                    == ["accepted", "process_started", "task_started", "task_succeeded"])
            #expect(
                try await observer.values(
                    "SELECT event FROM events WHERE process_id = 'p2' ORDER BY id", as: String.self)
                    == ["accepted", "process_started", "task_started"])
            #expect(
                try await observer.values("SELECT file_name FROM rejections ORDER BY id", as: String.self) == [
                    "bad.json", "worse.json",
                ])
            #expect(
                try await observer.value(
                    "SELECT status FROM tasks WHERE process_id = 'p1' AND task_name = 'done'", as: String.self)
                    == "success")
            // Every counter once: what the three batches add, the lost reply's counted once.
            let expected = accepted.counters.counts.values.reduce(0, +) + retried.counters.counts.values.reduce(0, +)
            #expect(
                try await observer.value("SELECT sum(value)::int8 FROM metric_counters", as: Int64.self) == expected)
            // The lost batch's token was found again (one row per batch, none written twice).
            #expect(
                try await observer.values(
                    "SELECT seq FROM commit_tokens WHERE runner_id = 'runner-0' ORDER BY seq", as: Int64.self) == [
                        1, 2, 3,
                    ])
            // And p1 is still this runner's: a later change of it is written.
            let later = try await store.commit(
                StoreBatch(changes: [Fixture.ended("p1", created: 0, ended: 9, status: .success)]))
            #expect(later == .empty)
            #expect(
                try await observer.value("SELECT status FROM processes WHERE process_id = 'p1'", as: String.self)
                    == "success")
        }
    }

    @Test("the status channel computed in SQL is the one the runner listens on")
    func statusChannelInSQL() async throws {
        try await withStores("status_channel") { stores in
            for runner in ["runner-0", "host-a-3f9c1e", "", "ünïcode-runner", String(repeating: "x", count: 200)] {
                let channel: String? = try await stores[0].value("SELECT spoolrunner_status_channel(\(runner))")
                #expect(channel == PostgresStore.statusChannel(for: runner), "\(runner)")
            }
        }
    }
}
