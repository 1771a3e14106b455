import Foundation
import GRDB
import SpoolClient

/// Schedules, status-file reconciliation and prune: the runner's writes and reads outside the
/// engine's batches.
extension SQLiteStore {
    public func saveScheduleState(_ state: ScheduleStateRecord, events: [EventRecord]) async throws(StoreError) {
        try await write("save the state of schedule \(state.processType)/\(state.entry)") { db in
            try state.save(db)
            for var event in events { try event.insert(db) }
        }
    }

    public func unfinishedProcess(ofType processType: String, idMatching idPattern: String) async throws(StoreError)
        -> String?
    {
        try await read("look for an unfinished run of \(processType)") { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT process_id FROM processes
                    WHERE process_type = ? AND process_id GLOB ? AND status IN ('pending', 'running')
                    ORDER BY process_id LIMIT 1
                    """, arguments: [processType, idPattern])
        }
    }

    public func lastEventID() async throws(StoreError) -> Int64 {
        try await read("read the newest event id") { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? 0
        }
    }

    public func changedProcesses(afterEvent eventID: Int64) async throws(StoreError) -> (
        stamps: [ProcessStamp], lastEventID: Int64
    ) {
        try await read("find the processes changed since event \(eventID)") { db in
            let last = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? eventID
            guard last > eventID else { return ([], eventID) }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT rowid, process_id, updated_at FROM processes
                    WHERE process_id IN (SELECT DISTINCT process_id FROM events WHERE id > ? AND id <= ?)
                    """, arguments: [eventID, last])
            return (rows.map { ProcessStamp(cursor: $0[0], processID: $0[1], updatedAt: $0[2]) }, last)
        }
    }

    public func processStamps(after cursor: Int64, limit: Int) async throws(StoreError) -> [ProcessStamp] {
        try await read("sweep the processes") { db in
            try Row.fetchAll(
                db, sql: "SELECT rowid, process_id, updated_at FROM processes WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [cursor, limit]
            )
            .map { ProcessStamp(cursor: $0[0], processID: $0[1], updatedAt: $0[2]) }
        }
    }

    /// The status-file documents of `processIDs` as the store has them now, in one transaction
    /// (a process that is gone, pruned, has none).
    public func snapshots(_ processIDs: [String]) async throws(StoreError) -> [String: StoredProcess] {
        guard !processIDs.isEmpty else { return [:] }
        return try await read("read \(processIDs.count) process(es)") { db in
            var result: [String: StoredProcess] = [:]
            for chunk in processIDs.chunks(of: 500).map(Array.init) {
                let records = try ProcessRecord.filter(keys: chunk).fetchAll(db)
                let rows = Dictionary(
                    grouping: try TaskRecord.filter(chunk.contains(TaskRecord.Columns.processID))
                        .order(TaskRecord.Columns.position).fetchAll(db),
                    by: \.processID)
                for record in records {
                    result[record.processID] = StoredProcess(record: record, tasks: rows[record.processID] ?? [])
                }
            }
            return result
        }
    }

    public func prune(before time: Date, keeping live: Set<String>) async throws(StoreError) -> PruneResult {
        let cutoff = Timestamp.string(time)
        return try await write("prune before \(cutoff)") { db in
            // A process the runner holds (a retry just redrove it) is not finished any more.
            let ids = try String.fetchAll(db, sql: Self.finishedBefore, arguments: [cutoff]).filter {
                !live.contains($0)
            }
            for part in ids.chunks(of: 500) {
                let marks = part.sqlPlaceholders
                let arguments = StatementArguments(part)
                try db.execute(sql: "DELETE FROM events WHERE process_id IN (\(marks))", arguments: arguments)
                try db.execute(sql: "DELETE FROM tasks WHERE process_id IN (\(marks))", arguments: arguments)
                try db.execute(sql: "DELETE FROM processes WHERE process_id IN (\(marks))", arguments: arguments)
            }
            try db.execute(sql: "DELETE FROM rejections WHERE received_at < ?", arguments: [cutoff])
            return PruneResult(processIDs: ids, rejections: db.changesCount)
        }
    }
}
