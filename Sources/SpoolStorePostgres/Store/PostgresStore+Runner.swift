import Foundation
import PostgresNIO
import SpoolClient
import SpoolRunner

/// The runner's own writes of `Store` on PostgreSQL: sessions, the processes it resumes, intake
/// lookups, and the fenced batch commit.
extension PostgresStore: Store {
    /// A shared store belongs to the fleet, not to one spool: every runner's spool may use it
    /// (each runner's row in `runners` names its spool). Nothing to record or refuse.
    public func bind(toSpool identity: String, path: String) async throws(StoreError) {}

    /// A row of `runner_sessions` for this runner id; the previous one is this runner id's last.
    public func beginSession(_ session: RunnerSessionRecord) async throws(StoreError) -> SessionStart {
        let me = runnerID
        return try await storeCall("record the runner session") { [self] in
            try await transaction("recording the session of runner \(me)") { connection in
                let inserted = try await connection.query(
                    """
                    INSERT INTO runner_sessions (runner_id, pid, version, started_at)
                    VALUES (\(me), \(session.pid), \(session.version), \(Timestamp.string(session.startedAt))::timestamptz)
                    RETURNING id
                    """, logger: logger)
                var id: Int64 = 0
                for try await value in inserted.decode(Int64.self) { id = value }
                let previous = try RowJSON.decode(
                    RunnerSessionRecord.self,
                    try await texts(
                        """
                        SELECT \(unescaped: RowJSON.session)::text FROM runner_sessions s
                         WHERE s.runner_id = \(me) AND s.id < \(id) ORDER BY s.id DESC LIMIT 1
                        """, on: connection)
                ).first
                // The first of the sessions since this runner id's last clean stop.
                let firstUnclean = try RowJSON.decode(
                    RunnerSessionRecord.self,
                    try await texts(
                        """
                        SELECT \(unescaped: RowJSON.session)::text FROM runner_sessions s
                         WHERE s.runner_id = \(me) AND s.id < \(id)
                           AND s.id > coalesce((SELECT max(c.id) FROM runner_sessions c
                                                 WHERE c.runner_id = \(me) AND c.clean_exit AND c.id < \(id)), 0)
                         ORDER BY s.id LIMIT 1
                        """, on: connection)
                ).first
                return SessionStart(sessionID: id, previous: previous, uncleanSince: firstUnclean?.startedAt)
            }
        }
    }

    /// A clean stop: no crash counts against the processes this runner still holds.
    public func endSession(_ sessionID: Int64, at time: Date) async throws(StoreError) {
        let me = runnerID
        try await storeCall("record a clean stop") { [self] in
            try await transaction("recording the clean stop of runner \(me)") { connection in
                try await connection.query(
                    """
                    UPDATE runner_sessions SET ended_at = \(Timestamp.string(time))::timestamptz, clean_exit = true
                     WHERE id = \(sessionID)
                    """, logger: logger)
                try await connection.query(
                    """
                    UPDATE processes SET crash_count = 0
                     WHERE owner_runner = \(me) AND status IN ('pending', 'running') AND crash_count > 0
                    """, logger: logger)
            }
        }
    }

    /// The unfinished processes this runner id owns, in acceptance order: what a runner restarted
    /// on its spool resumes (SPEC §6). Each is fenced anew (epoch + 1), so a write still in
    /// flight from an earlier incarnation cannot land after this one starts on it. Processes no
    /// runner owns are not in it: those are claimed (`claim`), like any runner's.
    ///
    /// - Throws: `.failed` before `register`: only a registered incarnation holds processes.
    public func unfinishedProcesses() async throws(StoreError) -> [StoredProcess] {
        let me = runnerID
        guard let lease = held.withLock({ $0.lease }) else { throw notRegistered("load the unfinished processes") }
        let loaded: [(StoredProcess, Int64)] = try await storeCall("load the unfinished processes") { [self] in
            try await transaction("loading the processes of runner \(me)") { connection in
                let rows = try await connection.query(
                    """
                    WITH mine AS (
                      UPDATE processes p SET lease_epoch = p.lease_epoch + 1
                       WHERE p.owner_runner = \(me) AND p.status IN ('pending', 'running')
                         AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me)
                                       AND incarnation = \(lease.incarnation) AND state = 'alive')
                      RETURNING p.process_id, p.lease_epoch, p.seq)
                    SELECT \(unescaped: RowJSON.storedProcess)::text, mine.lease_epoch
                      FROM mine JOIN processes p USING (process_id)
                     ORDER BY mine.seq
                    """, logger: logger)
                var result: [(StoredProcess, Int64)] = []
                let decoder = RowJSON.decoder()
                for try await (text, epoch) in rows.decode((String, Int64).self) {
                    let row = try decoder.decode(RowJSON.StoredProcessRow.self, from: Data(text.utf8))
                    result.append((row.value, epoch))
                }
                return result
            }
        }
        held.withLock { held in
            for (process, epoch) in loaded { held.epochs[process.record.processID] = epoch }
        }
        return loaded.map(\.0)
    }

    public func requestJSONs(of processIDs: [String]) async throws(StoreError) -> [String: String] {
        guard !processIDs.isEmpty else { return [:] }
        return try await storeCall("look up \(processIDs.count) process id(s)") { [self] in
            let rows = try await client.query(
                "SELECT process_id, request_json FROM processes WHERE process_id = ANY(\(processIDs)::text[])",
                logger: logger)
            var found: [String: String] = [:]
            for try await (id, request) in rows.decode((String, String).self) { found[id] = request }
            return found
        }
    }

    public func existingProcessIDs(among processIDs: [String]) async throws(StoreError) -> Set<String> {
        guard !processIDs.isEmpty else { return [] }
        return try await storeCall("look up \(processIDs.count) process id(s)") { [self] in
            Set(
                try await texts(
                    "SELECT process_id FROM processes WHERE process_id = ANY(\(processIDs)::text[])"))
        }
    }

    /// Stores the definitions new processes are accepted with (SPEC §9: the executing runner
    /// parses the stored YAML), by sha256; call at start and after every reload, before
    /// committing a process of a new or changed type.
    ///
    /// - Parameter yaml: process type → the definition file's text.
    /// - Returns: process type → sha256 (hex), for the `runners` row (drift shows there).
    @discardableResult
    public func useDefinitions(_ yaml: [String: String]) async throws(StoreError) -> [String: String] {
        let types = yaml.keys.sorted()
        let texts = types.map { yaml[$0] ?? "" }
        let hashes: [String: Data] = try await storeCall("store the definitions") { [self] in
            let rows = try await client.query(
                """
                WITH d AS (SELECT t, y, sha256(convert_to(y, 'UTF8')) AS h
                             FROM unnest(\(types)::text[], \(texts)::text[]) AS d(t, y)),
                     stored AS (INSERT INTO definitions (sha256, process_type, yaml)
                                SELECT h, t, y FROM d ON CONFLICT (sha256) DO NOTHING)
                SELECT t, h FROM d
                """, logger: logger)
            var hashes: [String: Data] = [:]
            for try await (type, hash) in rows.decode((String, Data).self) { hashes[type] = hash }
            return hashes
        }
        held.withLock { $0.definitions.merge(hashes) { _, new in new } }
        let hex = hashes.mapValues { $0.map { String(format: "%02x", $0) }.joined() }
        // A reload: `runners` shows the definitions in force now (drift between hosts), and a
        // registration after a fence records them too.
        membership.state.withLock { $0.identity?.definitions = hex }
        if let lease = held.withLock({ $0.lease }) {
            let me = runnerID
            let json = String(decoding: (try? JSONEncoder.sorted.encode(hex)) ?? Data("{}".utf8), as: UTF8.self)
            try await storeCall("record the definitions of runner \(me)") { [self] in
                try await client.query(
                    """
                    UPDATE runners SET definitions = \(json)::jsonb
                     WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                    """, logger: logger)
            }
        }
        return hex
    }

    func notRegistered(_ operation: String) -> StoreError {
        StoreError(
            .failed, location: location, operation: operation,
            message: "runner \(runnerID) is not registered in the store: register it (serve --store does) first")
    }
}
