import Foundation
import PostgresNIO
import ProcessDefinitions
import SpoolClient
import SpoolRunner

/// What `spoolrunner store copy` did.
public struct HistoryCopyReport: Sendable, Equatable {
    /// Processes written to the PostgreSQL store (with their tasks and events).
    public var copied = 0
    /// Processes it already had (an earlier, maybe interrupted, copy): left as they are.
    public var present = 0
    public var rejections = 0
    public var scheduleStates = 0

    public init() {}
}

extension PostgresStore {
    /// Copies a SQLite history store into this one, once, when a spool's user outgrows one host
    /// (SPEC §9): processes with their tasks and events, rejections, schedule state.
    ///
    /// Idempotent: a process the store has already is left alone with all its rows (`ON CONFLICT
    /// DO NOTHING`), so an interrupted copy is finished by running it again. Processes go
    /// `chunk` per transaction, oldest first. Event ids are kept where the store does not use
    /// them already, so `events --json` prints the same on both stores; the id sequence is moved
    /// past them in the same transaction, under a lock that holds runners' event inserts back.
    ///
    /// Copied processes are owned by no runner: any runner of the fleet claims the unfinished
    /// ones. Each must have a definition (`definitions`, process type → YAML text): the runner
    /// that claims it parses it. A finished process of a type without one is copied with its
    /// definition unknown.
    ///
    /// - Parameters:
    ///   - subscriber: the runner id whose spool keeps the processes' status files (the spool the
    ///     history came from), or nil for none.
    ///   - progress: called after each chunk with the report so far.
    /// - Throws: `StoreError` `.failed` naming the types of unfinished processes without a
    ///   definition, before anything is written.
    public func copyHistory(
        from source: any Store, definitions: [String: String], subscriber: String?, chunk: Int = 1_000,
        progress: @Sendable (HistoryCopyReport) -> Void = { _ in }
    ) async throws(StoreError) -> HistoryCopyReport {
        let missing = try await Self.typesWithoutDefinition(in: source, definitions: definitions)
        guard missing.isEmpty else {
            throw StoreError(
                .failed, location: source.location, operation: "copy the history",
                message:
                    "unfinished processes of \(missing.joined(separator: ", ")) have no definition to run them with: give the definitions directory (--definitions DIR) that has \(missing.map { "\($0).yaml" }.joined(separator: ", "))"
            )
        }
        let hashes = try await useDefinitions(definitions)
        var report = HistoryCopyReport()
        var cursor: Int64 = 0
        while true {
            let stamps = try await source.processStamps(after: cursor, limit: chunk)
            guard let last = stamps.last else { break }
            cursor = last.cursor
            let ids = stamps.map(\.processID)
            let stored = try await source.snapshots(ids)
            var processes: [CopiedProcess] = []
            for id in ids {
                guard let process = stored[id] else { continue }
                processes.append(
                    CopiedProcess(
                        process: process, events: try await source.events(of: id, after: 0),
                        definitionSHA256: hashes[process.record.processType]))
            }
            let inserted = try await storeCall("copy \(processes.count) process(es)") { [self, processes] in
                try await insertCopied(processes, subscriber: subscriber)
            }
            report.copied += inserted
            report.present += processes.count - inserted
            progress(report)
        }
        let rejections = try await source.rejections(RejectionQuery(limit: Int.max))
        let states = try await source.scheduleStates().entries
        let (rejectionCount, stateCount) = try await storeCall("copy rejections and schedule state") { [self] in
            try await insertCopied(rejections: rejections, states: states)
        }
        report.rejections = rejectionCount
        report.scheduleStates = stateCount
        progress(report)
        return report
    }

    /// The process types of `source`'s unfinished processes that `definitions` lacks: a copy
    /// refuses those (no runner could run them).
    public static func typesWithoutDefinition(in source: any Store, definitions: [String: String])
        async throws(StoreError) -> [String]
    {
        Set(try await source.unfinishedProcesses().map(\.record.processType)).subtracting(definitions.keys).sorted()
    }

    /// One process of the source with everything of it.
    struct CopiedProcess: Sendable {
        var process: StoredProcess
        var events: [EventRecord]
        var definitionSHA256: String?
    }

    /// - Returns: how many of `processes` were new to this store.
    private func insertCopied(_ processes: [CopiedProcess], subscriber: String?) async throws -> Int {
        guard !processes.isEmpty else { return 0 }
        let rows = processes.map { copied in
            CopiedProcessRow(
                row: NewProcessRow(
                    copied.process.record, definition: Data(hexString: copied.definitionSHA256 ?? "") ?? Data()),
                knownDefinition: copied.definitionSHA256 != nil)
        }
        let transitions = try processes.map { copied in
            var transition = try EngineRecovery.transition(
                from: (copied.process.record, copied.process.tasks, []), epoch: 0)
            transition.process = nil
            return transition
        }
        let events = processes.flatMap(\.events)
        let eventJSON = String(decoding: try JSONEncoder.sorted.encode(events.map(CopiedEventRow.init)), as: UTF8.self)
        let processJSON = String(decoding: try JSONEncoder.sorted.encode(rows), as: UTF8.self)
        let maxEventID = events.compactMap(\.id).max() ?? 0
        return try await transaction("copying \(processes.count) processes") { connection in
            // Runners' event inserts wait until this commits: the ids kept and the sequence moved
            // past them are seen together.
            try await connection.query("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", logger: logger)
            let inserted = try await connection.query(
                """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                       started_at, ended_at, updated_at, error_json, crash_count, request_sha256,
                                       definition_sha256)
                SELECT u.process_id, u.process_type, u.status, u.inputs_json, u.request_json,
                       u.created_at::timestamptz, u.started_at::timestamptz, u.ended_at::timestamptz,
                       u.updated_at::timestamptz, u.error_json, u.crash_count,
                       sha256(convert_to(u.request_json, 'UTF8')),
                       CASE WHEN u.known_definition THEN decode(u.definition_sha256, 'hex') END
                  FROM ROWS FROM (jsonb_to_recordset(\(processJSON)::jsonb) AS (
                         process_id text, process_type text, status text, inputs_json jsonb, request_json text,
                         created_at text, started_at text, ended_at text, updated_at text, error_json jsonb,
                         crash_count int, definition_sha256 text, known_definition boolean)) WITH ORDINALITY AS u(
                         process_id, process_type, status, inputs_json, request_json, created_at, started_at,
                         ended_at, updated_at, error_json, crash_count, definition_sha256, known_definition, n)
                 ORDER BY u.n
                ON CONFLICT (process_id) DO NOTHING
                RETURNING process_id
                """, logger: logger
            ).collect().map { try $0.decode(String.self) }
            let new = Set(inserted)
            guard !new.isEmpty else { return 0 }
            try await writeTransitions(transitions.filter { new.contains($0.processID) }, connection: connection)
            // Tasks of copied history ran on no runner of this store.
            try await connection.query(
                "UPDATE tasks SET runner_id = NULL, machine_id = NULL WHERE process_id = ANY(\(inserted)::text[])",
                logger: logger)
            try await connection.query(
                """
                SELECT setval(pg_get_serial_sequence('events', 'id'),
                              greatest((SELECT coalesce(max(id), 0) FROM events), \(maxEventID), 1))
                """, logger: logger)
            try await connection.query(
                """
                WITH u AS (
                  SELECT e.*, NOT EXISTS (SELECT 1 FROM events x WHERE x.id = e.id) AS free
                    FROM jsonb_to_recordset(\(eventJSON)::jsonb) AS e(
                         id bigint, process_id text, task_name text, event text, at text, detail_json jsonb)
                   WHERE e.process_id = ANY(\(inserted)::text[])),
                kept AS (
                  INSERT INTO events (id, process_id, task_name, event, at, detail_json)
                  OVERRIDING SYSTEM VALUE
                  SELECT id, process_id, task_name, event, at::timestamptz, detail_json FROM u WHERE free)
                INSERT INTO events (process_id, task_name, event, at, detail_json)
                SELECT process_id, task_name, event, at::timestamptz, detail_json FROM u WHERE NOT free ORDER BY id
                """, logger: logger)
            if let subscriber {
                try await connection.query(
                    """
                    INSERT INTO subscriptions (runner_id, process_id)
                    SELECT \(subscriber), id FROM unnest(\(inserted)::text[]) AS id ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            return new.count
        }
    }

    /// Rejections a row with the same file, time and code does not stand for yet, and schedule
    /// entries the store has no state for.
    private func insertCopied(rejections: [RejectionRecord], states: [ScheduleStateRecord]) async throws
        -> (Int, Int)
    {
        let rejectionJSON = String(
            decoding: try JSONEncoder.sorted.encode(
                rejections.sorted { ($0.id ?? 0) < ($1.id ?? 0) }.map(RejectionRow.init)), as: UTF8.self)
        let stateJSON = String(decoding: try JSONEncoder.sorted.encode(states), as: UTF8.self)
        return try await transaction("copying rejections and schedule state") { connection in
            let copied =
                try await connection.query(
                    """
                    WITH ins AS (
                      INSERT INTO rejections (file_name, received_at, code, message)
                      SELECT r.file_name, r.received_at::timestamptz, r.code, r.message
                        FROM ROWS FROM (jsonb_to_recordset(\(rejectionJSON)::jsonb)
                               AS (file_name text, received_at text, code text, message text)) WITH ORDINALITY
                             AS r(file_name, received_at, code, message, n)
                       WHERE NOT EXISTS (SELECT 1 FROM rejections x WHERE x.file_name = r.file_name
                                           AND x.received_at = r.received_at::timestamptz AND x.code = r.code)
                       ORDER BY r.n
                      RETURNING 1)
                    SELECT count(*) FROM ins
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
            let stateCount =
                try await connection.query(
                    """
                    WITH ins AS (
                      INSERT INTO schedule_state (process_type, entry, last_slot, last_process_id, last_submitted_at,
                                                  updated_at)
                      SELECT s.process_type, s.entry, s.last_slot::timestamptz, s.last_process_id,
                             s.last_submitted_at::timestamptz, s.updated_at::timestamptz
                        FROM jsonb_to_recordset(\(stateJSON)::jsonb) AS s(
                             process_type text, entry text, last_slot text, last_process_id text,
                             last_submitted_at text, updated_at text)
                      ON CONFLICT (process_type, entry) DO NOTHING
                      RETURNING 1)
                    SELECT count(*) FROM ins
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
            return (Int(copied), Int(stateCount))
        }
    }

    private struct CopiedProcessRow: Encodable {
        var row: NewProcessRow
        var knownDefinition: Bool

        func encode(to encoder: any Encoder) throws {
            try row.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(knownDefinition, forKey: .knownDefinition)
        }

        enum Key: String, CodingKey { case knownDefinition = "known_definition" }
    }

    private struct CopiedEventRow: Encodable {
        var id: Int64?
        var processID: String
        var taskName: String?
        var event: String
        var at: String
        var detail: [String: JSONValue]?

        init(_ event: EventRecord) {
            id = event.id
            processID = event.processID
            taskName = event.taskName
            self.event = event.event.rawValue
            at = Timestamp.string(event.at)
            detail = event.detail
        }

        enum CodingKeys: String, CodingKey {
            case id
            case processID = "process_id"
            case taskName = "task_name"
            case event, at
            case detail = "detail_json"
        }
    }

}

extension Data {
    /// The bytes of a hex string (two digits each); nil for anything else.
    init?(hexString: String) {
        guard hexString.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
