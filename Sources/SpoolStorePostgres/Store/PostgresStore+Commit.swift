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

    /// The three statements of a commit, each one `jsonb_to_recordset` over the whole batch.
    /// - Parameter ranTasks: whether this runner ran the tasks it writes (a commit): their rows
    ///   then name it as the host that holds their logs. The reaper and a control action change
    ///   tasks someone else ran, so their `runner_id` and `machine_id` stay as they were.
    func writeTransitions(
        _ transitions: [ProcessTransition], connection: PostgresConnection, ranTasks: Bool = true
    ) async throws {
        let rows = TransitionRows(transitions, runnerID: ranTasks ? runnerID : nil)
        let processes = rows.processes
        let tasks = rows.tasks
        let events = rows.events
        let encoder = JSONEncoder.sorted
        if !processes.isEmpty {
            let json = String(decoding: try encoder.encode(processes), as: UTF8.self)
            try await connection.query(
                """
                UPDATE processes p
                   SET status = u.status, started_at = u.started_at::timestamptz, ended_at = u.ended_at::timestamptz,
                       updated_at = u.updated_at::timestamptz, error_json = u.error_json::jsonb,
                       crash_count = u.crash_count,
                       owner_runner = CASE WHEN u.status IN ('pending', 'running') THEN p.owner_runner END
                  FROM jsonb_to_recordset(\(json)::jsonb) AS u(
                       process_id text, status text, started_at text, ended_at text, updated_at text,
                       error_json text, crash_count int)
                 WHERE p.process_id = u.process_id
                """, logger: logger)
        }
        if !tasks.isEmpty {
            let json = String(decoding: try encoder.encode(tasks), as: UTF8.self)
            try await connection.query(
                """
                INSERT INTO tasks (process_id, task_name, position, mode, status, attempts, retry_base, started_at,
                                   ended_at, exit_code, output_json, error_json, next_attempt_at, pid,
                                   pid_start_ticks, on_failure, sleep_until, runner_id, machine_id)
                SELECT u.process_id, u.task_name, u.position, u.mode, u.status, u.attempts, u.retry_base,
                       u.started_at::timestamptz, u.ended_at::timestamptz, u.exit_code, u.output_json::jsonb,
                       u.error_json::jsonb, u.next_attempt_at::timestamptz, u.pid, u.pid_start_ticks,
                       u.on_failure, u.sleep_until::timestamptz, u.runner_id, u.machine_id
                  FROM jsonb_to_recordset(\(json)::jsonb) AS u(
                       process_id text, task_name text, position int, mode text, status text, attempts int,
                       retry_base int, started_at text, ended_at text, exit_code int, output_json text,
                       error_json text, next_attempt_at text, pid int, pid_start_ticks bigint, on_failure boolean,
                       sleep_until text, runner_id text, machine_id text)
                ON CONFLICT (process_id, task_name) DO UPDATE SET
                       position = EXCLUDED.position, mode = EXCLUDED.mode, status = EXCLUDED.status,
                       attempts = EXCLUDED.attempts, retry_base = EXCLUDED.retry_base,
                       started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                       exit_code = EXCLUDED.exit_code, output_json = EXCLUDED.output_json,
                       error_json = EXCLUDED.error_json, next_attempt_at = EXCLUDED.next_attempt_at,
                       pid = EXCLUDED.pid, pid_start_ticks = EXCLUDED.pid_start_ticks,
                       on_failure = EXCLUDED.on_failure, sleep_until = EXCLUDED.sleep_until,
                       runner_id = COALESCE(EXCLUDED.runner_id, tasks.runner_id),
                       machine_id = COALESCE(EXCLUDED.machine_id, tasks.machine_id)
                """, logger: logger)
        }
        if !events.isEmpty {
            let json = String(decoding: try encoder.encode(events), as: UTF8.self)
            // WITH ORDINALITY keeps the batch's order in the ids: events of a process read back
            // in the order they happened.
            try await connection.query(
                """
                INSERT INTO events (process_id, task_name, event, at, detail_json, runner_id)
                SELECT e.v->>'process_id', e.v->>'task_name', e.v->>'event', (e.v->>'at')::timestamptz,
                       (e.v->>'detail_json')::jsonb, \(runnerID)
                  FROM jsonb_array_elements(\(json)::jsonb) WITH ORDINALITY AS e(v, n)
                 ORDER BY e.n
                """, logger: logger)
        }
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
