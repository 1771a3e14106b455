import Foundation
import PostgresNIO
import SpoolClient
import SpoolRunner

extension PostgresStore {
    /// What a `cancel` or `retry` applied through the store did (`control(_:_:at:)`).
    public enum ControlResult: Sendable, Equatable {
        /// No process with that id.
        case unknown
        /// The process is in a state the action does nothing in (a cancel of a process that
        /// ended, a retry of one that did not fail or was not cancelled): nothing was written.
        case notApplicable(ProcessStatus)
        /// No runner held it: the action was applied in the store; the process's status now.
        case applied(ProcessStatus)
        /// A runner holds it (a cancel): `cancel_requested_at` is set and the runner notified; it
        /// stops the tasks and records the end.
        case askedOwner(String)
        /// A retry of a finished process with no stored definition (history copied from SQLite
        /// by `store copy`): its tasks cannot be resumed.
        case noDefinition
    }

    /// `spoolrunner cancel|retry ID --store URL` (SPEC §9, "Cancel and retry from any host"), in
    /// one transaction with the process row locked, from any host, no runner or spool needed:
    ///
    /// - cancel, no runner holds it: applied here (`StoredControl.cancel`, the engine's own
    ///   transition), the epoch bumped so that nothing written before by a former holder counts;
    ///   if a task is still recorded running, the process stays unfinished with the cancel
    ///   recorded, and `spoolrunner_work` tells a runner to claim it and finish it.
    /// - cancel, a runner holds it: `cancel_requested_at = now()` and `cancel:<id>` on
    ///   `spoolrunner_work`; the holder also sees the flag in the result of its next commit.
    /// - retry of a failed or cancelled process: back to `pending` (`StoredControl.retry`),
    ///   unowned, a former cancel request cleared, and `spoolrunner_work` sent.
    ///
    /// The events are written under this store's runner id (the CLI uses `cli/<host>`); the task
    /// rows keep the runner that ran them.
    public func control(_ processID: String, _ action: ControlMessage.Action, at now: Date) async throws(StoreError)
        -> ControlResult
    {
        let operation = "\(action.rawValue) \(processID)"
        return try await storeCall(operation) { [self] in
            try await transaction(operation) { connection in
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT \(LockedProcessRow.columns)
                              FROM processes p LEFT JOIN definitions d ON d.sha256 = p.definition_sha256
                             WHERE p.process_id = $1
                               FOR UPDATE OF p
                            """, binds: Self.bind(processID)), logger: logger)
                var found: (RecoveryInput.ProcessState, String?, Data?)?
                for try await row in rows {
                    let locked = try LockedProcessRow(row)
                    found = (locked.process, locked.definitionYAML, locked.definitionSHA256)
                }
                guard let (process, yaml, definitionHash) = found else { return ControlResult.unknown }
                guard let status = ProcessStatus(rawValue: process.status) else {
                    throw PostgresStoreError(.database, "process \(processID): unknown status '\(process.status)'")
                }
                switch action {
                case .cancel where status.isFinal, .retry where status != .failed && status != .cancelled:
                    return .notApplicable(status)
                case .cancel where process.ownerRunner != nil:
                    try await connection.query(
                        "UPDATE processes SET cancel_requested_at = now() WHERE process_id = \(processID)",
                        logger: logger)
                    try await connection.query(
                        "SELECT pg_notify(\(Self.workChannel), \(Self.cancelPrefix + processID))", logger: logger)
                    return .askedOwner(process.ownerRunner ?? "")
                case .prune:
                    throw PostgresStoreError(.database, "prune is not an action on one process")
                default:
                    break
                }
                guard let yaml, let definitionHash else { return .noDefinition }
                let tasks = try await readTasks([processID], connection: connection)[processID] ?? []
                let sha8 = definitionHash.prefix(4).map { String(format: "%02x", $0) }.joined()
                let transition = try EngineRecovery.apply(
                    process, tasks: tasks, definitionYAML: yaml, definitionSHA8: sha8, at: now
                ) { record, tasks, definition in
                    action == .cancel
                        ? StoredControl.cancel(record: record, tasks: tasks, definition: definition, at: now)
                        : StoredControl.retry(record: record, tasks: tasks, definition: definition, at: now)
                }
                try await writeTransitions([transition], connection: connection, ranTasks: false)
                try await notifySubscribers(of: [processID], except: nil, on: connection)
                // Whatever a former holder still writes is fenced off; a retry is anyone's to claim
                // (and a cancel asked before it is not a cancel of it).
                try await connection.query(
                    """
                    UPDATE processes SET owner_runner = NULL, lease_epoch = lease_epoch + 1, cancel_requested_at = NULL
                     WHERE process_id = \(processID)
                    """, logger: logger)
                let after = ProcessStatus(rawValue: transition.process?.status ?? process.status) ?? status
                if !after.isFinal {
                    try await connection.query("SELECT pg_notify(\(Self.workChannel), '')", logger: logger)
                }
                return .applied(after)
            }
        }
    }

    static func bind(_ value: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }
}
