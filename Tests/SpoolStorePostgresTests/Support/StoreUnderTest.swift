import Foundation
import ProcessDefinitions
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// The two conformers of `Store`, for tests parameterized over both (River's `riverdrivertest`).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// A store of one backend, as a runner uses it: the SQLite file of a spool, or the PostgreSQL
/// store with runner `runner-0` registered and the test definitions stored. `peer` is a second
/// runner on the same PostgreSQL database (the fleet's leader, another host).
struct StoreUnderTest: Sendable {
    let backend: Backend
    let store: any Store
    let postgres: PostgresStore?
    let peer: PostgresStore?
    /// `peer`'s lease.
    let peerLease: Lease?

    /// The definition every conformance process has: a succeeded task, an idempotent one, a
    /// non-idempotent one, one with retries.
    static let definitionYAML = """
        process_type: greet
        tasks:
          - name: done
            run: ["/bin/true"]
          - name: redo
            run: ["/bin/true"]
          - name: once
            run: ["/bin/true"]
            idempotent: false
          - name: later
            run: ["/bin/true"]
            retry: {max_attempts: 3, backoff: 1s}
        """

    static let definition: ProcessDefinition = {
        switch DefinitionLoader.parse(yaml: definitionYAML, file: "greet.yaml", baseDirectory: "/") {
        case .success(let definition): return definition
        case .failure(let errors): fatalError("the test definition does not load: \(errors)")
        }
    }()

    static let taskNames = ["done", "redo", "once", "later"]
}

/// Runs `body` with a fresh store of `backend`.
func withStore<Result: Sendable>(
    _ backend: Backend, _ label: String, _ body: @Sendable (StoreUnderTest) async throws -> Result
) async throws -> Result {
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conformance-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: "\(directory)/history.sqlite")
        return try await body(StoreUnderTest(backend: .sqlite, store: store, postgres: nil, peer: nil, peerLease: nil))
    case .postgres:
        return try await withStores(label, count: 2) { stores in
            _ = try await stores[0].registerTestRunner()
            let peerLease = try await stores[1].registerTestRunner()
            try await stores[0].useDefinitions([
                "greet": StoreUnderTest.definitionYAML,
                "other": StoreUnderTest.definitionYAML.replacingOccurrences(of: "greet", with: "other"),
            ])
            return try await body(
                StoreUnderTest(
                    backend: .postgres, store: stores[0], postgres: stores[0], peer: stores[1], peerLease: peerLease))
        }
    }
}

/// Fixed instants: `at(s)` is `s` seconds past 2026-11-30T06:00:00Z.
func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_796_018_400 + seconds) }

/// The processes the conformance tests commit, built as the engine builds them.
enum Fixture {
    /// A request's bytes with their own spacing and key order: the store must keep them verbatim.
    static func requestJSON(_ id: String, name: String = "Ada") -> String {
        "{ \"type\":\"greet\",  \"id\": \"\(id)\",\n  \"inputs\": {\"name\": \"\(name)\", \"count\": 2} }\n"
    }

    static func record(_ id: String, created: Double, type: String = "greet") -> ProcessRecord {
        ProcessRecord(
            processID: id, processType: type, status: .pending,
            inputs: ["name": .string("Ada"), "count": .integer(2), "ratio": .number(0.5), "tags": .array([.null])],
            requestJSON: requestJSON(id), createdAt: at(created), updatedAt: at(created))
    }

    static func tasks(_ id: String) -> [TaskRecord] {
        StoreUnderTest.taskNames.enumerated().map { position, name in
            TaskRecord(processID: id, taskName: name, position: position, mode: .sync, onFailure: false)
        }
    }

    /// The change the engine commits when it accepts a request.
    static func accepted(_ id: String, created: Double, type: String = "greet") -> StoreBatch.Change {
        .init(
            record: record(id, created: created, type: type), isNew: true, processChanged: true,
            tasks: tasks(id),
            events: [
                EventRecord(processID: id, event: .accepted, at: at(created), detail: ["file": .string("\(id).json")])
            ])
    }

    /// A process of `states` (task name → status), running since `started`, as a change.
    static func running(
        _ id: String, created: Double, started: Double, states: [String: TaskStatus], crashCount: Int = 0
    ) -> StoreBatch.Change {
        var record = record(id, created: created)
        record.status = .running
        record.startedAt = at(started)
        record.updatedAt = at(started + 1)
        record.crashCount = crashCount
        var rows = tasks(id)
        for index in rows.indices {
            guard let status = states[rows[index].taskName] else { continue }
            rows[index].status = status
            rows[index].attempts = status == .pending ? 0 : 1
            rows[index].startedAt = status == .pending ? nil : at(started)
            switch status {
            case .success:
                rows[index].endedAt = at(started + 0.5)
                rows[index].exitCode = 0
                rows[index].output = ["greeting": .string("hi"), "n": .integer(1)]
            case .running:
                rows[index].pid = 4_100_000
                rows[index].pidStartTicks = 77
            case .retrying:
                rows[index].endedAt = at(started + 0.25)
                rows[index].exitCode = 1
                rows[index].nextAttemptAt = at(started + 30)
                rows[index].error = FailureInfo(code: .exitStatus, message: "exit status 1", task: rows[index].taskName)
            default: break
            }
        }
        return .init(
            record: record, isNew: false, processChanged: true, tasks: rows,
            events: [
                EventRecord(processID: id, event: .processStarted, at: at(started)),
                EventRecord(processID: id, taskName: "done", event: .taskStarted, at: at(started)),
            ])
    }

    /// The whole process ended `status` at `ended`.
    static func ended(_ id: String, created: Double, ended: Double, status: ProcessStatus) -> StoreBatch.Change {
        var record = record(id, created: created)
        record.status = status
        record.startedAt = at(created + 1)
        record.endedAt = at(ended)
        record.updatedAt = at(ended)
        if status == .failed {
            record.error = FailureInfo(code: .exitStatus, message: "task once exited with status 3", task: "once")
        }
        var rows = tasks(id)
        for index in rows.indices {
            rows[index].status = status == .success ? .success : .skipped
            rows[index].attempts = status == .success ? 1 : 0
        }
        return .init(
            record: record, isNew: false, processChanged: true, tasks: rows,
            events: [
                EventRecord(
                    processID: id, event: status == .success ? .processSucceeded : .processFailed, at: at(ended))
            ])
    }
}

extension StoreUnderTest {
    /// What happens when the runner holding the unfinished processes dies and they are recovered
    /// under SPEC §6: SQLite's restart recovery (the same runner, `unfinishedProcesses` and the
    /// recovery rule, committed), or PostgreSQL's takeover (the lease expires, the leader's
    /// reaper applies the same rule; then this runner claims them back to go on).
    func recoverAfterRunnerDeath(at now: Date) async throws {
        switch backend {
        case .sqlite:
            var changes: [StoreBatch.Change] = []
            for process in try await store.unfinishedProcesses() {
                let recovered = TakeoverRecovery.recover(
                    record: process.record, tasks: process.tasks, definition: Self.definition, at: now)
                changes.append(
                    .init(
                        record: recovered.record, isNew: false, processChanged: true, tasks: recovered.tasks,
                        events: recovered.events))
            }
            let outcome = try await store.commit(StoreBatch(changes: changes))
            #expect(outcome == .empty)
        case .postgres:
            guard let postgres, let peer else { return }
            try await peer.execute(
                "UPDATE runners SET expires_at = now() - interval '1 minute' WHERE runner_id = \(postgres.runnerID)")
            _ = try await peer.reapExpiredRunners(at: Timestamp.string(now)) { try EngineRecovery.recover($0, at: now) }
            let lease = try await postgres.registerTestRunner()
            _ = try await postgres.claim(limit: 100, lease: lease)
        }
    }
}

/// Records as bytes (keys sorted, the engine's timestamps): equal bytes, equal records.
func encoded<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(Timestamp.string(date))
    }
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
