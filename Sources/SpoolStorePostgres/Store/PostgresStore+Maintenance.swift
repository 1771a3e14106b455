import Foundation
import PostgresNIO
import ProcessDefinitions
import SpoolClient
import SpoolRunner

/// Schedules, status-file reconciliation and prune on PostgreSQL: the runner's writes and reads
/// outside the engine's batches.
extension PostgresStore {
    public func saveScheduleState(_ state: ScheduleStateRecord, events: [EventRecord]) async throws(StoreError) {
        let eventRows = try encodedEvents(events, operation: "save the state of schedule \(state.processType)")
        try await storeCall("save the state of schedule \(state.processType)/\(state.entry)") { [self] in
            try await transaction("saving the state of schedule \(state.processType)") { connection in
                try await writeScheduleState(state, eventRows: eventRows, on: connection)
            }
        }
    }

    /// Upserts an entry's state, its last slot never moving back (two leaders during a
    /// partition each save where they stand), and inserts its events.
    func writeScheduleState(_ state: ScheduleStateRecord, eventRows: String?, on connection: PostgresConnection)
        async throws
    {
        try await connection.query(
            """
            INSERT INTO schedule_state (process_type, entry, last_slot, last_process_id, last_submitted_at,
                                        updated_at)
            VALUES (\(state.processType), \(state.entry), \(state.lastSlot)::timestamptz,
                    \(state.lastProcessID), \(state.lastSubmittedAt)::timestamptz,
                    \(state.updatedAt)::timestamptz)
            ON CONFLICT (process_type, entry) DO UPDATE SET
                last_slot = GREATEST(schedule_state.last_slot, EXCLUDED.last_slot),
                last_process_id = COALESCE(EXCLUDED.last_process_id, schedule_state.last_process_id),
                last_submitted_at = COALESCE(EXCLUDED.last_submitted_at, schedule_state.last_submitted_at),
                updated_at = EXCLUDED.updated_at
            """, logger: logger)
        if let eventRows {
            try await connection.query(
                """
                INSERT INTO events (process_id, task_name, event, at, detail_json, runner_id)
                SELECT e.v->>'process_id', e.v->>'task_name', e.v->>'event', (e.v->>'at')::timestamptz,
                       e.v->'detail_json', \(runnerID)
                  FROM jsonb_array_elements(\(eventRows)::jsonb) WITH ORDINALITY AS e(v, n)
                 ORDER BY e.n
                """, logger: logger)
        }
    }

    /// Events as one JSON array (nil when there are none), `detail_json` as a JSON value.
    func encodedEvents(_ events: [EventRecord], operation: String) throws(StoreError) -> String? {
        guard !events.isEmpty else { return nil }
        struct Row: Encodable {
            var processID: String
            var taskName: String?
            var event: String
            var at: String
            var detail: [String: JSONValue]?
            enum CodingKeys: String, CodingKey {
                case processID = "process_id"
                case taskName = "task_name"
                case event, at
                case detail = "detail_json"
            }
        }
        do {
            let rows = events.map {
                Row(
                    processID: $0.processID, taskName: $0.taskName, event: $0.event.rawValue,
                    at: Timestamp.string($0.at), detail: $0.detail)
            }
            return String(decoding: try JSONEncoder.sorted.encode(rows), as: UTF8.self)
        } catch {
            throw storeError(error, operation)
        }
    }

    /// `idPattern` is a GLOB (SQLite's): PostgreSQL matches its translation to a regular expression.
    public func unfinishedProcess(ofType processType: String, idMatching idPattern: String) async throws(StoreError)
        -> String?
    {
        let regex = Self.regex(fromGlob: idPattern)
        return try await storeCall("look for an unfinished run of \(processType)") { [self] in
            try await texts(
                """
                SELECT process_id FROM processes
                 WHERE process_type = \(processType) AND process_id ~ \(regex) AND status IN ('pending', 'running')
                 ORDER BY process_id LIMIT 1
                """
            ).first
        }
    }

    /// SQLite's GLOB as an anchored POSIX regular expression: `*` any text, `?` one character,
    /// `[…]` and `[^…]` classes as they are, everything else literal.
    static func regex(fromGlob glob: String) -> String {
        var result = "^"
        var inClass = false
        for character in glob {
            if inClass {
                if character == "]" { inClass = false }
                result.append(character == "\\" ? "\\\\" : String(character))
                continue
            }
            switch character {
            case "*": result += ".*"
            case "?": result += "."
            case "[":
                inClass = true
                result.append("[")
            case ".", "+", "(", ")", "{", "}", "|", "^", "$", "\\", "]":
                result += "\\\(character)"
            default: result.append(character)
            }
        }
        return result + "$"
    }

    public func lastEventID() async throws(StoreError) -> Int64 {
        try await storeCall("read the newest event id", limit: Self.reconcileCallLimit) { [self] in
            var last: Int64 = 0
            let rows = try await client.query("SELECT coalesce(max(id), 0) FROM events", logger: logger)
            for try await value in rows.decode(Int64.self) { last = value }
            return last
        }
    }

    /// The processes this runner subscribes to (its spool's status files) with an event after
    /// `eventID`.
    ///
    /// Event ids are handed out when rows are inserted, not when their transactions commit: a
    /// commit of another runner may still bring an id below the one returned. The periodic sweep
    /// (`processStamps`, every `--rescan`) compares `updated_at` and catches what this misses.
    public func changedProcesses(afterEvent eventID: Int64) async throws(StoreError) -> (
        stamps: [ProcessStamp], lastEventID: Int64
    ) {
        let me = runnerID
        return try await storeCall("find the processes changed since event \(eventID)", limit: Self.reconcileCallLimit)
        { [self] in
            try await transaction("finding changed processes") { connection in
                var last = eventID
                for try await value in try await connection.query(
                    "SELECT coalesce(max(id), 0) FROM events", logger: logger
                ).decode(Int64.self) { last = max(value, eventID) }
                guard last > eventID else { return ([], eventID) }
                let stamps = try await stampRows(
                    """
                    SELECT p.seq, p.process_id, \(unescaped: Self.stamp("p.updated_at")) FROM processes p
                      JOIN subscriptions s ON s.process_id = p.process_id AND s.runner_id = \(me)
                     WHERE p.process_id IN (SELECT DISTINCT process_id FROM events WHERE id > \(eventID) AND id <= \(last))
                     ORDER BY p.seq
                    """, on: connection)
                return (stamps, last)
            }
        }
    }

    /// Up to `limit` of the processes this runner subscribes to, after `cursor` in store order.
    public func processStamps(after cursor: Int64, limit: Int) async throws(StoreError) -> [ProcessStamp] {
        let me = runnerID
        return try await storeCall("sweep the processes", limit: Self.reconcileCallLimit) { [self] in
            try await transaction("sweeping the processes") { connection in
                try await stampRows(
                    """
                    SELECT p.seq, p.process_id, \(unescaped: Self.stamp("p.updated_at")) FROM processes p
                      JOIN subscriptions s ON s.process_id = p.process_id AND s.runner_id = \(me)
                     WHERE p.seq > \(cursor) ORDER BY p.seq LIMIT \(limit)
                    """, on: connection)
            }
        }
    }

    private func stampRows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [ProcessStamp] {
        var stamps: [ProcessStamp] = []
        for try await (seq, id, updated) in try await connection.query(query, logger: logger).decode(
            (Int64, String, String).self)
        {
            stamps.append(ProcessStamp(cursor: seq, processID: id, updatedAt: updated))
        }
        return stamps
    }

    public func snapshots(_ processIDs: [String]) async throws(StoreError) -> [String: StoredProcess] {
        guard !processIDs.isEmpty else { return [:] }
        return try await storeCall("read \(processIDs.count) process(es)") { [self] in
            let rows = try RowJSON.decode(
                RowJSON.StoredProcessRow.self,
                try await texts(
                    """
                    SELECT \(unescaped: RowJSON.storedProcess)::text FROM processes p
                     WHERE p.process_id = ANY(\(processIDs)::text[])
                    """))
            return Dictionary(rows.map { ($0.record.processID, $0.value) }) { first, _ in first }
        }
    }

    /// How many processes one prune transaction deletes (Oban's pruner limit): a prune of a
    /// large history never holds its locks, or the WAL, for long.
    public static let pruneChunk = 10_000

    /// Deletes the finished processes that ended before `cutoff` (every row of them: tasks and
    /// subscriptions by cascade, events explicitly) except `live`, `pruneChunk` per transaction,
    /// then the rejections received before it, then the commit tokens no retry can need
    /// (`pruneCommitTokens`). Unfinished processes are never touched.
    ///
    /// Unlike SQLite's one transaction, an interrupted prune leaves some of the old processes:
    /// the next run deletes them, and each chunk is whole (a process goes with all its rows).
    public func prune(before cutoff: Date, keeping live: Set<String>) async throws(StoreError) -> PruneResult {
        try await prune(before: cutoff, keeping: live, chunk: Self.pruneChunk)
    }

    /// `prune(before:keeping:)` with chunks of `chunk` processes (tests use small ones).
    ///
    /// Safe beside the fleet and beside another prune (two leaders for a moment):
    /// - a process is chosen only while finished, unowned and ended before `cutoff`, under a row
    ///   lock (`FOR UPDATE SKIP LOCKED`): a retry (which locks the row, claims it and makes it
    ///   pending) either comes first and the process is not chosen, or waits for the prune and
    ///   finds no process; an owned finished process is one a runner is retrying now;
    /// - two prunes skip each other's locked rows, so each deletes its own share, and a
    ///   process accepted after the prune started ended after `cutoff`.
    public func prune(before cutoff: Date, keeping live: Set<String>, chunk: Int) async throws(StoreError)
        -> PruneResult
    {
        let stamp = Timestamp.string(cutoff)
        let kept = Array(live)
        return try await storeCall("prune before \(stamp)", limit: nil) { [self] in
            var deleted: [String] = []
            while true {
                let ids: [String] = try await transaction("pruning before \(stamp)") { connection in
                    let ids = try await texts(
                        """
                        WITH doomed AS (
                          SELECT process_id FROM processes
                           WHERE status IN ('success', 'failed', 'cancelled') AND ended_at < \(stamp)::timestamptz
                             AND owner_runner IS NULL AND process_id <> ALL(\(kept)::text[])
                           ORDER BY ended_at, process_id
                           LIMIT \(chunk)
                           FOR UPDATE SKIP LOCKED),
                        events_gone AS (DELETE FROM events WHERE process_id IN (SELECT process_id FROM doomed))
                        DELETE FROM processes WHERE process_id IN (SELECT process_id FROM doomed)
                        RETURNING process_id
                        """, on: connection)
                    return ids
                }
                deleted += ids
                if ids.count < chunk { break }
            }
            var rejections = 0
            while true {
                let count: Int = try await transaction("pruning rejections before \(stamp)") { connection in
                    try await texts(
                        """
                        WITH gone AS (
                          DELETE FROM rejections WHERE id IN (
                            SELECT id FROM rejections WHERE received_at < \(stamp)::timestamptz LIMIT \(chunk))
                          RETURNING 1)
                        SELECT count(*)::text FROM gone
                        """, on: connection
                    ).first.flatMap { Int($0) } ?? 0
                }
                rejections += count
                if count < chunk { break }
            }
            // And the commit tokens no retry can need (the leader's reaper does it too).
            _ = try await pruneCommitTokens()
            return PruneResult(processIDs: deleted, rejections: rejections)
        }
    }

    /// Sets `lock_timeout` for this runner's writes: how long one waits for another session's
    /// row lock before it fails as `.busy`. nil: no lock timeout (`statement_timeout` bounds it).
    public func setBusyTimeout(_ seconds: Double?) async {
        lockTimeout.withLock { $0 = seconds }
    }

    /// Nothing to do: the server checkpoints its own WAL.
    public func checkpoint() async {}
}
