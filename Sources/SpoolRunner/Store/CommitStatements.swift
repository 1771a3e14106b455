import Foundation
import GRDB
import SpoolClient

/// The statements of an engine commit: prepared once per connection (GRDB's statement cache),
/// bound with explicit arguments, one execution per row.
///
/// Why not the records' `insert`/`update`/`upsert`: a `perf record -g` of a W1 burst (issue 10)
/// spent a third to a half of the runner's samples in GRDB's record layer, building the upsert
/// statement's SQL anew for every task row and encoding each record through `Encodable`. The
/// rows written are the same ones: the same columns, dates as `Timestamp` text, JSON columns
/// byte for byte as the records' encoder writes them (`JSONColumn`; a test compares the rows).
enum CommitStatements {
    static func apply(_ batch: StoreBatch, to db: Database) throws {
        if !batch.changes.isEmpty { try applyChanges(batch.changes, to: db) }
        if !batch.rejections.isEmpty {
            let insertRejection = try db.cachedStatement(
                sql: "INSERT INTO rejections (file_name, received_at, code, message) VALUES (?, ?, ?, ?)")
            for rejection in batch.rejections {
                try insertRejection.execute(arguments: [
                    rejection.fileName, Timestamp.string(rejection.receivedAt), rejection.code.rawValue,
                    rejection.message,
                ])
            }
        }
        try MetricCounters.add(batch.counters, in: db)
    }

    private static func applyChanges(_ changes: [StoreBatch.Change], to db: Database) throws {
        var json = JSONColumn()
        let insertProcess = try db.cachedStatement(
            sql: """
                INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                    started_at, ended_at, updated_at, error_json, crash_count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        // The request and inputs never change: rewriting them (up to 1 MiB) on every state change
        // would only grow the WAL.
        let updateProcess = try db.cachedStatement(
            sql: """
                UPDATE processes SET status = ?, started_at = ?, ended_at = ?, updated_at = ?, error_json = ?,
                    crash_count = ?
                WHERE process_id = ?
                """)
        // A new process's tasks are plain inserts; a known process's may be new rows too (an
        // `on_failure` task running for the first time after a restart), hence the upsert.
        let taskColumns = """
            INSERT INTO tasks (process_id, task_name, position, mode, status, attempts, retry_base, started_at,
                ended_at, exit_code, output_json, error_json, next_attempt_at, pid, pid_start_ticks, sleep_until,
                on_failure)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let insertTask = try db.cachedStatement(sql: taskColumns)
        let upsertTask = try db.cachedStatement(
            sql: taskColumns + """

                ON CONFLICT (process_id, task_name) DO UPDATE SET position = excluded.position,
                    mode = excluded.mode, status = excluded.status, attempts = excluded.attempts,
                    retry_base = excluded.retry_base, started_at = excluded.started_at, ended_at = excluded.ended_at,
                    exit_code = excluded.exit_code, output_json = excluded.output_json,
                    error_json = excluded.error_json, next_attempt_at = excluded.next_attempt_at, pid = excluded.pid,
                    pid_start_ticks = excluded.pid_start_ticks, sleep_until = excluded.sleep_until,
                    on_failure = excluded.on_failure
                """)
        let insertEvent = try db.cachedStatement(
            sql: "INSERT INTO events (process_id, task_name, event, at, detail_json) VALUES (?, ?, ?, ?, ?)")
        for change in changes {
            let process = change.record
            if change.isNew {
                try insertProcess.execute(arguments: [
                    process.processID, process.processType, process.status.rawValue, json.text(process.inputs),
                    process.requestJSON, Timestamp.string(process.createdAt), stamp(process.startedAt),
                    stamp(process.endedAt), Timestamp.string(process.updatedAt), json.text(process.error),
                    process.crashCount,
                ])
            } else if change.processChanged {
                try updateProcess.execute(arguments: [
                    process.status.rawValue, stamp(process.startedAt), stamp(process.endedAt),
                    Timestamp.string(process.updatedAt), json.text(process.error), process.crashCount,
                    process.processID,
                ])
            }
            let taskStatement = change.isNew ? insertTask : upsertTask
            for task in change.tasks {
                try taskStatement.execute(arguments: [
                    task.processID, task.taskName, task.position, task.mode.rawValue, task.status.rawValue,
                    task.attempts, task.retryBase, stamp(task.startedAt), stamp(task.endedAt), task.exitCode,
                    json.text(task.output), json.text(task.error), stamp(task.nextAttemptAt), task.pid,
                    task.pidStartTicks, stamp(task.sleepUntil), task.onFailure,
                ])
            }
            for event in change.events {
                try insertEvent.execute(arguments: [
                    event.processID, event.taskName, event.event.rawValue, Timestamp.string(event.at),
                    json.text(event.detail),
                ])
            }
        }
    }

    private static func stamp(_ date: Date?) -> String? {
        date.map(Timestamp.string)
    }
}
