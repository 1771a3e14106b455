import Foundation
import PostgresNIO
import SpoolRunner

extension PostgresStore {
    /// Takes up to `limit` unowned unfinished processes, oldest first, for this runner: each is
    /// claimed by exactly one runner however many claim at once (`FOR UPDATE SKIP LOCKED`), and
    /// its fencing token is bumped. Nothing is claimed once this incarnation's lease is over.
    ///
    /// `limit` is the runner's free task slots: work claimed but not started would be stuck
    /// behind the lease if the runner died. `typeLimits` holds the definitions' `concurrency`,
    /// which is global across the fleet: those types are claimed separately, each inside its
    /// own `pg_advisory_xact_lock`, never past their limit of owned unfinished processes. Types
    /// without one never take that lock.
    public func claim(limit: Int, lease: Lease, typeLimits: [String: Int] = [:]) async throws -> [ClaimedProcess] {
        try await claimRows(limit: limit, lease: lease, typeLimits: typeLimits).map(\.process)
    }

    /// `claim(limit:lease:typeLimits:)` with what the engine needs to run each process, from
    /// the claim statement itself: one round trip, not a claim and then three reads (snapshots,
    /// stored definitions, subscriptions) while the engine waits.
    func claimWork(limit: Int, lease: Lease, typeLimits: [String: Int]) async throws -> [ClaimedWork] {
        try await claimRows(limit: limit, lease: lease, typeLimits: typeLimits).map { row in
            let decoded = try RowJSON.decode(RowJSON.StoredProcessRow.self, [row.stored])[0]
            return ClaimedWork(
                process: decoded.value,
                definition: storedDefinition(
                    of: row.process.processID, type: row.process.processType, sha: row.process.definitionSHA256,
                    yaml: row.yaml),
                subscribed: row.subscribed)
        }
    }

    private func claimRows(limit: Int, lease: Lease, typeLimits: [String: Int]) async throws -> [ClaimedRow] {
        guard limit > 0 else { return [] }
        var claimed: [ClaimedRow] = []
        for (type, maximum) in typeLimits.sorted(by: { $0.key < $1.key }) where claimed.count < limit {
            claimed += try await claimLimited(type, maximum: maximum, limit: limit - claimed.count, lease: lease)
        }
        if claimed.count < limit {
            // One statement, so autocommit is enough: one round trip, not BEGIN, it and COMMIT.
            let rest = limit - claimed.count
            do {
                claimed += try await client.withConnection { connection in
                    try await claimRows(
                        limit: rest, lease: lease, connection: connection, filter: .excluding(Array(typeLimits.keys)))
                }
            } catch {
                throw PostgresStoreError.wrap(error, "claiming processes for runner \(runnerID)")
            }
        }
        held.withLock { held in
            for row in claimed { held.epochs[row.process.processID] = row.process.leaseEpoch }
        }
        return claimed.sorted {
            ($0.process.createdAt, $0.process.processID) < ($1.process.createdAt, $1.process.processID)
        }
    }

    /// The processes of one type with a `concurrency` limit: counted and claimed under that
    /// type's advisory lock, so that claimers on every host see each other's claims.
    private func claimLimited(_ type: String, maximum: Int, limit: Int, lease: Lease) async throws
        -> [ClaimedRow]
    {
        try await transaction("claiming \(type) processes for runner \(runnerID)") { connection in
            let free = try await freeSlots(of: type, maximum: maximum, connection: connection)
            guard free > 0 else { return [] }
            return try await claimRows(
                limit: min(free, limit), lease: lease, connection: connection, filter: .only(type))
        }
    }

    /// Takes `type`'s advisory lock (until the transaction ends) and returns how many more of
    /// its processes may be owned now.
    func freeSlots(of type: String, maximum: Int, connection: PostgresConnection) async throws -> Int {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(\(AdvisoryKey.key("spoolrunner.concurrency.\(type)", url.schema)))",
            logger: logger)
        let rows = try await connection.query(
            """
            SELECT count(*) FROM processes
             WHERE process_type = \(type) AND owner_runner IS NOT NULL AND status IN ('pending', 'running')
            """, logger: logger)
        var owned: Int64 = 0
        for try await value in rows.decode(Int64.self) { owned = value }
        return maximum - Int(owned)
    }

    enum TypeFilter {
        case only(String)
        case excluding([String])
    }

    /// One claimed process, with its stored state as `RowJSON.storedProcess` text, its
    /// definition's YAML (nil when this store has that definition parsed already, or has none),
    /// and whether this runner subscribes to it.
    struct ClaimedRow {
        var process: ClaimedProcess
        var stored: String
        var yaml: String?
        var subscribed: Bool
    }

    private func claimRows(limit: Int, lease: Lease, connection: PostgresConnection, filter: TypeFilter) async throws
        -> [ClaimedRow]
    {
        let me = runnerID
        // The definitions parsed already: their YAML is not sent again.
        let known = membership.state.withLock { state in
            state.definitions.keys.map { sha in sha.map { String(format: "%02x", $0) }.joined() }
        }
        let (only, excluded): (String?, [String]) =
            switch filter {
            case .only(let type): (type, [])
            case .excluding(let types): (nil, types)
            }
        // The CTE stays MATERIALIZED on purpose (Oban's optimization fence): the row locks are
        // taken in the subquery, LIMIT applied, before the UPDATE. PostgreSQL 15 keeps it
        // anyway; saying so keeps it whatever the planner does later.
        let rows = try await connection.query(
            """
            WITH c AS MATERIALIZED (
              SELECT process_id FROM processes
               WHERE owner_runner IS NULL AND status IN ('pending', 'running')
                 AND (\(only)::text IS NULL OR process_type = \(only))
                 AND process_type <> ALL(\(excluded)::text[])
                 AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                               AND state = 'alive' AND expires_at > now())
               ORDER BY created_at, process_id
               LIMIT \(limit)
               FOR UPDATE SKIP LOCKED)
            UPDATE processes p SET owner_runner = \(me), lease_epoch = p.lease_epoch + 1
              FROM c WHERE p.process_id = c.process_id
            RETURNING p.process_id, p.process_type, p.status, p.lease_epoch, p.request_json,
                      p.definition_sha256, p.crash_count, p.takeovers, p.created_at,
                      \(unescaped: RowJSON.storedProcess)::text,
                      CASE WHEN encode(p.definition_sha256, 'hex') <> ALL(\(known)::text[])
                           THEN (SELECT d.yaml FROM definitions d WHERE d.sha256 = p.definition_sha256) END,
                      EXISTS (SELECT 1 FROM subscriptions s WHERE s.process_id = p.process_id AND s.runner_id = \(me))
            """, logger: logger)
        var claimed: [ClaimedRow] = []
        for try await (
            id, type, status, epoch, request, definition, crashes, takeovers, created, stored, yaml, subscribed
        )
            in rows.decode(
                (String, String, String, Int64, String, Data, Int32, Int32, Date, String, String?, Bool).self)
        {
            claimed.append(
                ClaimedRow(
                    process: ClaimedProcess(
                        processID: id, processType: type, status: status, leaseEpoch: epoch, requestJSON: request,
                        definitionSHA256: definition, crashCount: Int(crashes), takeovers: Int(takeovers),
                        createdAt: created),
                    stored: stored, yaml: yaml, subscribed: subscribed))
        }
        return claimed
    }
}
