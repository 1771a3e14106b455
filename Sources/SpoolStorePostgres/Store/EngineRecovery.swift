import Foundation
import ProcessDefinitions
import SpoolRunner

/// The reaper's recovery function: the store's rows turned into the engine's records, SPEC §6's
/// rule applied by `TakeoverRecovery` (the same code as SQLite restart recovery), and the result
/// turned back into a transition to write.
public enum EngineRecovery {
    /// - Throws: `PostgresStoreError` `.database` when a stored row or the stored definition
    ///   cannot be read back (it names the process and the definition as `store:<type>@<sha8>`).
    public static func recover(_ input: RecoveryInput, at now: Date) throws -> ProcessTransition {
        try apply(
            input.process, tasks: input.tasks, definitionYAML: input.definitionYAML,
            definitionSHA8: input.definitionSHA8, at: now
        ) { record, tasks, definition in
            TakeoverRecovery.recover(record: record, tasks: tasks, definition: definition, at: now)
        }
    }

    /// The stored rows of a process turned into the engine's records, `change` applied to them
    /// with the definition the process was accepted with, and the result turned back into a
    /// transition to write (the recovery rule, or a control action: `StoredControl`).
    /// - Throws: `PostgresStoreError` `.database` when a stored row or the stored definition
    ///   cannot be read back.
    static func apply(
        _ stored: RecoveryInput.ProcessState, tasks storedTasks: [ProcessTransition.Task], definitionYAML: String,
        definitionSHA8: String, at now: Date,
        _ change: (ProcessRecord, [TaskRecord], ProcessDefinition) -> StoredControl.Change
    ) throws -> ProcessTransition {
        let file = "store:\(stored.processType)@\(definitionSHA8)/\(stored.processType).yaml"
        let definition: ProcessDefinition
        switch DefinitionLoader.parse(yaml: definitionYAML, file: file, baseDirectory: "/") {
        case .success(let parsed): definition = parsed
        case .failure(let errors):
            throw PostgresStoreError(
                .database, "process \(stored.processID): its stored definition does not load: \(errors)")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ text: String?, _ what: String) throws -> T? {
            guard let text else { return nil }
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
                throw PostgresStoreError(.database, "process \(stored.processID): \(what) is not valid", cause: error)
            }
        }
        guard let status = ProcessStatus(rawValue: stored.status) else {
            throw PostgresStoreError(.database, "process \(stored.processID): unknown status '\(stored.status)'")
        }
        func date(_ text: String?, _ what: String) throws -> Date? {
            guard let text else { return nil }
            guard let parsed = Timestamp.parse(text) else {
                throw PostgresStoreError(.database, "process \(stored.processID): \(what) '\(text)' is not a timestamp")
            }
            return parsed
        }
        var record = ProcessRecord(
            processID: stored.processID, processType: stored.processType, status: status,
            inputs: try decode([String: JSONValue].self, stored.inputsJSON, "inputs_json") ?? [:],
            requestJSON: stored.requestJSON, createdAt: try date(stored.createdAt, "created_at") ?? now,
            updatedAt: try date(stored.updatedAt, "updated_at") ?? now)
        record.startedAt = try date(stored.startedAt, "started_at")
        record.endedAt = try date(stored.endedAt, "ended_at")
        record.error = try decode(FailureInfo.self, stored.errorJSON, "error_json")
        record.crashCount = stored.crashCount
        var rows: [TaskRecord] = []
        for task in storedTasks {
            guard let taskStatus = TaskStatus(rawValue: task.status),
                let mode = TaskDefinition.Mode(rawValue: task.mode)
            else {
                throw PostgresStoreError(
                    .database,
                    "process \(stored.processID) task \(task.taskName): unknown status '\(task.status)' or mode '\(task.mode)'"
                )
            }
            var row = TaskRecord(
                processID: stored.processID, taskName: task.taskName, position: task.position, mode: mode,
                onFailure: task.onFailure)
            row.status = taskStatus
            row.attempts = task.attempts
            row.retryBase = task.retryBase
            row.startedAt = try date(task.startedAt, "started_at of \(task.taskName)")
            row.endedAt = try date(task.endedAt, "ended_at of \(task.taskName)")
            row.exitCode = task.exitCode
            row.output = try decode([String: JSONValue].self, task.outputJSON, "output_json of \(task.taskName)")
            row.error = try decode(FailureInfo.self, task.errorJSON, "error_json of \(task.taskName)")
            row.nextAttemptAt = try date(task.nextAttemptAt, "next_attempt_at of \(task.taskName)")
            row.pid = task.pid.map(Int.init)
            row.pidStartTicks = task.pidStartTicks
            row.sleepUntil = try date(task.sleepUntil, "sleep_until of \(task.taskName)")
            rows.append(row)
        }
        return try transition(from: change(record, rows, definition), epoch: stored.leaseEpoch)
    }

    static func transition(
        from recovered: (record: ProcessRecord, tasks: [TaskRecord], events: [EventRecord]), epoch: Int64
    ) throws -> ProcessTransition {
        let encoder = JSONEncoder.sorted
        func text<T: Encodable>(_ value: T?) throws -> String? {
            try value.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
        let record = recovered.record
        func stamp(_ date: Date?) -> String? { date.map(Timestamp.string) }
        return ProcessTransition(
            processID: record.processID, leaseEpoch: epoch,
            process: .init(
                status: record.status.rawValue, startedAt: stamp(record.startedAt), endedAt: stamp(record.endedAt),
                updatedAt: Timestamp.string(record.updatedAt), errorJSON: try text(record.error),
                crashCount: record.crashCount),
            tasks: try recovered.tasks.map { row in
                ProcessTransition.Task(
                    taskName: row.taskName, position: row.position, mode: row.mode.rawValue,
                    status: row.status.rawValue, attempts: row.attempts, retryBase: row.retryBase,
                    startedAt: stamp(row.startedAt), endedAt: stamp(row.endedAt), exitCode: row.exitCode,
                    outputJSON: try text(row.output), errorJSON: try text(row.error),
                    nextAttemptAt: stamp(row.nextAttemptAt), pid: row.pid.map { Int32($0) },
                    pidStartTicks: row.pidStartTicks, onFailure: row.onFailure, sleepUntil: stamp(row.sleepUntil))
            },
            events: try recovered.events.map { event in
                ProcessTransition.Event(
                    taskName: event.taskName, event: event.event.rawValue, at: Timestamp.string(event.at),
                    detailJSON: try text(event.detail))
            })
    }
}

extension RecoveryInput {
    /// The first 8 hex digits of the definition's hash, for `store:<type>@<sha8>` in messages.
    var definitionSHA8: String { definitionSHA256Hex.prefix(8).description }
}
