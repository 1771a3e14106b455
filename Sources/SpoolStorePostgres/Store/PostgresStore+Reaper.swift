import Foundation
import PostgresNIO

extension PostgresStore {
    /// What one pass of the reaper did.
    public struct ReapReport: Sendable, Equatable {
        /// Runners marked `dead` in this pass.
        public var deadRunners: [String]
        /// Processes taken from dead runners, now unowned for anyone to claim.
        public var takenOver: [String]

        public init(deadRunners: [String], takenOver: [String]) {
            self.deadRunners = deadRunners
            self.takenOver = takenOver
        }
    }

    /// The SQL text of a timestamp in the engine's form, for reads.
    static func stamp(_ column: String) -> String {
        #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
    }

    /// The leader's reaper (every lease/3): marks runners `dead` whose lease expired more than
    /// `grace` ago, then takes their processes over, `batch` at a time (`FOR UPDATE SKIP LOCKED`,
    /// so two reapers never take the same one).
    ///
    /// Each process goes through `recover`, the same pure recovery function SQLite restart
    /// recovery uses (SPEC §6): what succeeded stays, a running idempotent task runs again, a
    /// running non-idempotent one ends `interrupted`, the crash-loop guard counts. Then it is
    /// unowned, its epoch bumped (so the dead runner's late writes are fenced off), `takeovers`
    /// + 1, a `taken_over` event names the old runner, and one `spoolrunner_work` notification
    /// goes out per batch.
    public func reapExpiredRunners(
        grace: Duration = .seconds(2), batch: Int = 500, at stamp: String,
        recover: @Sendable (RecoveryInput) throws -> ProcessTransition
    ) async throws -> ReapReport {
        let graceSeconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        var report = ReapReport(deadRunners: [], takenOver: [])
        do {
            let rows = try await client.query(
                """
                UPDATE runners SET state = 'dead'
                 WHERE state = 'alive' AND expires_at < now() - make_interval(secs => \(graceSeconds))
                RETURNING runner_id
                """, logger: logger)
            for try await id in rows.decode(String.self) { report.deadRunners.append(id) }
        } catch {
            throw PostgresStoreError.wrap(error, "marking dead runners")
        }
        while true {
            let taken = try await takeOverBatch(limit: batch, at: stamp, recover: recover)
            report.takenOver += taken
            if taken.count < batch { break }
        }
        report.deadRunners.sort()
        return report
    }

    private func takeOverBatch(
        limit: Int, at stamp: String, recover: @Sendable (RecoveryInput) throws -> ProcessTransition
    ) async throws -> [String] {
        try await transaction("taking over the processes of dead runners") { connection in
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT \(LockedProcessRow.columns)
                          FROM processes p JOIN definitions d ON d.sha256 = p.definition_sha256
                         WHERE p.owner_runner IN (SELECT runner_id FROM runners WHERE state = 'dead')
                         ORDER BY p.created_at, p.process_id
                         LIMIT \(limit)
                           FOR UPDATE OF p SKIP LOCKED
                        """), logger: logger)
            var inputs: [RecoveryInput] = []
            for try await row in rows {
                let locked = try LockedProcessRow(row)
                // The join and the owner filter make these present.
                guard let owner = locked.process.ownerRunner, let yaml = locked.definitionYAML,
                    let definitionHash = locked.definitionSHA256
                else { continue }
                inputs.append(
                    RecoveryInput(
                        process: locked.process, tasks: [], definitionYAML: yaml, definitionSHA256: definitionHash,
                        previousOwner: owner))
            }
            guard !inputs.isEmpty else { return [] }
            let ids = inputs.map(\.process.processID)
            let tasks = try await readTasks(ids, connection: connection)
            var transitions: [ProcessTransition] = []
            for var input in inputs {
                input.tasks = tasks[input.process.processID] ?? []
                var transition = try recover(input)
                transition.events.append(
                    ProcessTransition.Event(
                        event: "taken_over", at: stamp,
                        detailJSON: String(
                            decoding: try JSONEncoder.sorted.encode(["previous_runner": input.previousOwner]),
                            as: UTF8.self)))
                transitions.append(transition)
            }
            try await writeTransitions(transitions, connection: connection, ranTasks: false)
            try await notifySubscribers(of: ids, except: nil, on: connection)
            try await connection.query(
                """
                UPDATE processes SET owner_runner = NULL, lease_epoch = lease_epoch + 1, takeovers = takeovers + 1
                 WHERE process_id = ANY(\(ids)::text[])
                """, logger: logger)
            try await connection.query("SELECT pg_notify('spoolrunner_work', '')", logger: logger)
            return ids
        }
    }

    /// The task rows of `ids`, by process, in position order.
    func readTasks(_ ids: [String], connection: PostgresConnection) async throws -> [String: [ProcessTransition.Task]] {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT process_id, task_name, position, mode, status, attempts, retry_base,
                           \(Self.stamp("started_at")), \(Self.stamp("ended_at")), exit_code, output_json::text,
                           error_json::text, \(Self.stamp("next_attempt_at")), pid, pid_start_ticks, on_failure,
                           \(Self.stamp("sleep_until")), machine_id
                      FROM tasks WHERE process_id = ANY($1::text[]) ORDER BY process_id, position
                    """, binds: Self.binds(ids)), logger: logger)
        var result: [String: [ProcessTransition.Task]] = [:]
        for try await row in rows {
            let (
                process, name, position, mode, status, attempts, retryBase, started, ended, exitCode, output, error,
                next, pid, ticks, onFailure, sleepUntil, machine
            ) = try row.decode(
                (
                    String, String, Int32, String, String, Int32, Int32, String?, String?, Int32?, String?, String?,
                    String?, Int32?, Int64?, Bool, String?, String?
                ).self)
            result[process, default: []].append(
                ProcessTransition.Task(
                    taskName: name, position: Int(position), mode: mode, status: status, attempts: Int(attempts),
                    retryBase: Int(retryBase), startedAt: started, endedAt: ended, exitCode: exitCode.map(Int.init),
                    outputJSON: output, errorJSON: error, nextAttemptAt: next, pid: pid, pidStartTicks: ticks,
                    onFailure: onFailure, sleepUntil: sleepUntil, machineID: machine))
        }
        return result
    }

    static func binds(_ ids: [String]) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(ids)
        return bindings
    }
}
