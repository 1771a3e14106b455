import Foundation
import SpoolRunner

/// The store's rows read as JSON objects built by PostgreSQL, decoded into the same records
/// SQLite's store returns (`ProcessRecord`, `TaskRecord`, …), whose coding keys are the §7
/// column names.
///
/// One decoding path for every read: timestamps come as the engine's text (`stamp`, exactly
/// what SQLite stores, milliseconds included), jsonb columns as JSON, so both stores give the
/// same records for the same data, byte for byte once encoded.
enum RowJSON {
    /// A `ProcessRecord` of the row `p`.
    static let process = """
        json_build_object(
          'process_id', p.process_id, 'process_type', p.process_type, 'status', p.status,
          'inputs_json', p.inputs_json, 'request_json', p.request_json,
          'created_at', \(PostgresStore.stamp("p.created_at")), 'started_at', \(PostgresStore.stamp("p.started_at")),
          'ended_at', \(PostgresStore.stamp("p.ended_at")), 'updated_at', \(PostgresStore.stamp("p.updated_at")),
          'error_json', p.error_json, 'crash_count', p.crash_count)
        """

    /// A `TaskRecord` of the row `t`.
    static let task = """
        json_build_object(
          'process_id', t.process_id, 'task_name', t.task_name, 'position', t.position, 'mode', t.mode,
          'status', t.status, 'attempts', t.attempts, 'retry_base', t.retry_base,
          'started_at', \(PostgresStore.stamp("t.started_at")), 'ended_at', \(PostgresStore.stamp("t.ended_at")),
          'exit_code', t.exit_code, 'output_json', t.output_json, 'error_json', t.error_json,
          'next_attempt_at', \(PostgresStore.stamp("t.next_attempt_at")), 'pid', t.pid,
          'pid_start_ticks', t.pid_start_ticks, 'on_failure', t.on_failure,
          'sleep_until', \(PostgresStore.stamp("t.sleep_until")))
        """

    /// A `StoredProcess` of the row `p`: the process and its tasks in status-file order.
    static let storedProcess = """
        json_build_object('record', \(process), 'tasks', coalesce(
          (SELECT json_agg(\(task) ORDER BY t.position) FROM tasks t WHERE t.process_id = p.process_id), '[]'::json))
        """

    /// An `EventRecord` of the row `e`.
    static let event = """
        json_build_object(
          'id', e.id, 'process_id', e.process_id, 'task_name', e.task_name, 'event', e.event,
          'at', \(PostgresStore.stamp("e.at")), 'detail_json', e.detail_json)
        """

    /// A `RejectionRecord` of the row `r`.
    static let rejection = """
        json_build_object(
          'id', r.id, 'file_name', r.file_name, 'received_at', \(PostgresStore.stamp("r.received_at")),
          'code', r.code, 'message', r.message)
        """

    /// A `RunnerSessionRecord` of the row `s`.
    static let session = """
        json_build_object(
          'id', s.id, 'pid', s.pid, 'version', s.version, 'started_at', \(PostgresStore.stamp("s.started_at")),
          'ended_at', \(PostgresStore.stamp("s.ended_at")), 'clean_exit', s.clean_exit)
        """

    /// A `ScheduleStateRecord` of the row `s` (its times are text in the record, as in SQLite).
    static let scheduleState = """
        json_build_object(
          'process_type', s.process_type, 'entry', s.entry, 'last_slot', \(PostgresStore.stamp("s.last_slot")),
          'last_process_id', s.last_process_id, 'last_submitted_at', \(PostgresStore.stamp("s.last_submitted_at")),
          'updated_at', \(PostgresStore.stamp("s.updated_at")))
        """

    /// A decoder whose dates are the engine's text (a new one per read: cheap next to a round
    /// trip, and nothing shared between tasks).
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a timestamp"))
            }
            return date
        }
        return decoder
    }

    /// The rows of a one-column JSON text result, decoded.
    static func decode<T: Decodable>(_ type: T.Type, _ texts: [String]) throws -> [T] {
        let decoder = decoder()
        return try texts.map { try decoder.decode(T.self, from: Data($0.utf8)) }
    }

    /// `storedProcess`'s shape.
    struct StoredProcessRow: Decodable {
        var record: ProcessRecord
        var tasks: [TaskRecord]

        var value: StoredProcess { StoredProcess(record: record, tasks: tasks) }
    }
}
