import Foundation
import PostgresNIO

extension PostgresStore {
    /// Writes a batch of transitions in one transaction, fenced: only for the processes this
    /// incarnation still owns under the epoch each transition carries.
    ///
    /// 1. Locks the caller's process rows (`FOR UPDATE`, in id order so concurrent committers
    ///    never deadlock) where id, epoch and owner match and the incarnation is alive.
    /// 2. Writes `processes`, `tasks` and `events` only for the rows it got back; a process that
    ///    reaches a final state is no longer owned.
    /// 3. Returns the others as lost, and the owned ones with a cancel requested from elsewhere.
    ///
    /// A zombie's late write therefore changes nothing (River's "only if still running" guard
    /// plus a fencing token).
    public func commit(_ transitions: [ProcessTransition], lease: Lease) async throws -> CommitResult {
        guard !transitions.isEmpty else { return CommitResult(committed: [], lost: [], cancelRequested: []) }
        let me = runnerID
        let ids = transitions.map(\.processID)
        let epochs = transitions.map(\.leaseEpoch)
        return try await transaction("committing \(transitions.count) process changes") { connection in
            let rows = try await connection.query(
                """
                SELECT p.process_id, p.cancel_requested_at IS NOT NULL
                  FROM processes p
                  JOIN unnest(\(ids)::text[], \(epochs)::int8[]) AS f(process_id, lease_epoch)
                    ON p.process_id = f.process_id AND p.lease_epoch = f.lease_epoch
                 WHERE p.owner_runner = \(me)
                   AND EXISTS (SELECT 1 FROM runners r WHERE r.runner_id = \(me)
                                 AND r.incarnation = \(lease.incarnation) AND r.state = 'alive')
                 ORDER BY p.process_id
                   FOR UPDATE OF p
                """, logger: logger)
            var owned: Set<String> = []
            var cancel: [String] = []
            for try await (id, cancelRequested) in rows.decode((String, Bool).self) {
                owned.insert(id)
                if cancelRequested { cancel.append(id) }
            }
            let kept = transitions.filter { owned.contains($0.processID) }
            try await writeTransitions(kept, connection: connection)
            return CommitResult(
                committed: kept.map(\.processID), lost: ids.filter { !owned.contains($0) }, cancelRequested: cancel)
        }
    }

    /// The writes of a batch of transitions (processes, tasks, events) in one statement: the
    /// same SQL function the engine's commit runs (`spoolrunner_write_transitions`, migration 5),
    /// so every path writes the same columns the same way.
    /// - Parameter ranTasks: whether this runner ran the tasks it writes (a commit): their rows
    ///   then name it as the host that holds their logs. The reaper and a control action change
    ///   tasks someone else ran, so their `runner_id` and `machine_id` stay as they were.
    func writeTransitions(
        _ transitions: [ProcessTransition], connection: PostgresConnection, ranTasks: Bool = true
    ) async throws {
        let rows = TransitionRows(transitions, runnerID: ranTasks ? runnerID : nil)
        guard !(rows.processes.isEmpty && rows.tasks.isEmpty && rows.events.isEmpty) else { return }
        let json = String(decoding: try JSONEncoder.sorted.encode(rows), as: UTF8.self)
        try await connection.query(
            "SELECT spoolrunner_write_transitions(\(runnerID), \(json)::jsonb, NULL::text[])", logger: logger)
    }

    /// Gives back every process this incarnation owns (`owner_runner = NULL`, epoch + 1) and marks
    /// the runner `stopped`, with one `spoolrunner_work` notification so another runner continues
    /// them at once: the end of a graceful stop, after the last commit.
    ///
    /// - Returns: the ids released.
    @discardableResult
    public func release(_ lease: Lease) async throws -> [String] {
        let me = runnerID
        defer { held.withLock { $0.epochs.removeAll() } }
        return try await transaction("releasing the processes of runner \(me)") { connection in
            let rows = try await connection.query(
                """
                UPDATE processes SET owner_runner = NULL, lease_epoch = lease_epoch + 1
                 WHERE owner_runner = \(me)
                   AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                                 AND state = 'alive')
                RETURNING process_id
                """, logger: logger)
            var released: [String] = []
            for try await id in rows.decode(String.self) { released.append(id) }
            try await connection.query(
                """
                UPDATE runners SET state = 'stopped', heartbeat_at = now(), expires_at = now(), running_tasks = 0
                 WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                """, logger: logger)
            if !released.isEmpty {
                try await connection.query("SELECT pg_notify('spoolrunner_work', '')", logger: logger)
            }
            return released.sorted()
        }
    }
}
