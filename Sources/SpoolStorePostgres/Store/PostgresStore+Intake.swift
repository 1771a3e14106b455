import Foundation
import PostgresNIO

extension PostgresStore {
    /// Accepts a validated request in one transaction (SPEC §9, intake on each host): its
    /// definition by hash, the process and task rows, this runner's subscription, the `accepted`
    /// event, and, when `claimIfCapacity`, the claim (no extra round trip).
    ///
    /// An existing id is the §3 duplicate rule made global: the same bytes subscribe this runner
    /// too (`.duplicate`); other bytes are a `.conflict`, and nothing is written.
    ///
    /// `typeLimit` is the definition's `concurrency`: the claim on intake goes through the same
    /// check as `claim` (the type's advisory lock, its owned unfinished processes counted).
    public func accept(
        _ request: StoredRequest, fileName: String, claimIfCapacity: Bool, lease: Lease, typeLimit: Int? = nil
    ) async throws -> Acceptance {
        let tasks = String(decoding: try JSONEncoder.sorted.encode(request.tasks), as: UTF8.self)
        let detail = String(decoding: try JSONEncoder.sorted.encode(["file": fileName]), as: UTF8.self)
        let me = runnerID
        let acceptance: Acceptance = try await transaction("accepting \(request.processID)") { connection in
            try await connection.query(
                """
                INSERT INTO definitions (sha256, process_type, yaml)
                VALUES (\(request.definitionSHA256), \(request.processType), \(request.definitionYAML))
                ON CONFLICT (sha256) DO NOTHING
                """, logger: logger)
            let inserted = try await connection.query(
                """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                       updated_at, request_sha256, definition_sha256)
                VALUES (\(request.processID), \(request.processType), 'pending', \(request.inputsJSON)::jsonb,
                        \(request.requestJSON), \(request.createdAt)::timestamptz, \(request.createdAt)::timestamptz,
                        sha256(convert_to(\(request.requestJSON), 'UTF8')), \(request.definitionSHA256))
                ON CONFLICT (process_id) DO NOTHING
                RETURNING process_id
                """, logger: logger
            ).collect()
            guard !inserted.isEmpty else {
                let rows = try await connection.query(
                    """
                    SELECT request_sha256 = sha256(convert_to(\(request.requestJSON), 'UTF8'))
                           AND request_json = \(request.requestJSON)
                      FROM processes WHERE process_id = \(request.processID)
                    """, logger: logger)
                var same = false
                for try await equal in rows.decode(Bool.self) { same = equal }
                guard same else { return .conflict }
                try await connection.query(
                    """
                    INSERT INTO subscriptions (runner_id, process_id) VALUES (\(me), \(request.processID))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
                return .duplicate
            }
            try await connection.query(
                """
                INSERT INTO tasks (process_id, task_name, position, mode, status, on_failure)
                SELECT \(request.processID), t.task_name, t.position, t.mode, 'pending', t.on_failure
                  FROM jsonb_to_recordset(\(tasks)::jsonb) AS t(task_name text, position int, mode text, on_failure boolean)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO subscriptions (runner_id, process_id) VALUES (\(me), \(request.processID));
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO events (process_id, event, at, detail_json, runner_id)
                VALUES (\(request.processID), 'accepted', \(request.createdAt)::timestamptz, \(detail)::jsonb, \(me))
                """, logger: logger)
            guard claimIfCapacity else { return .accepted(leaseEpoch: nil) }
            if let typeLimit {
                let free = try await freeSlots(of: request.processType, maximum: typeLimit, connection: connection)
                guard free > 0 else { return .accepted(leaseEpoch: nil) }
            }
            let claimed = try await connection.query(
                """
                UPDATE processes SET owner_runner = \(me), lease_epoch = lease_epoch + 1
                 WHERE process_id = \(request.processID)
                   AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                                 AND state = 'alive' AND expires_at > now())
                RETURNING lease_epoch
                """, logger: logger)
            var epoch: Int64?
            for try await value in claimed.decode(Int64.self) { epoch = value }
            return .accepted(leaseEpoch: epoch)
        }
        if case .accepted(let epoch?) = acceptance {
            held.withLock { $0.epochs[request.processID] = epoch }
        }
        return acceptance
    }
}
