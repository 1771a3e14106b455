import Foundation
import GRDB
import SpoolClient

/// The reads of `StoreReader`: the CLI's commands, `watch`, the HTTP gateway.
extension SQLiteStore {
    public func snapshot(_ processID: String) async throws(StoreError) -> StoredProcess? {
        try await read("read process \(processID)") { db in
            guard let record = try ProcessRecord.fetchOne(db, key: processID) else { return nil }
            let tasks = try TaskRecord.all().of(processID).fetchAll(db)
            return StoredProcess(record: record, tasks: tasks)
        }
    }

    public func process(_ processID: String) async throws(StoreError) -> ProcessRecord? {
        try await read("read process \(processID)") { db in try ProcessRecord.fetchOne(db, key: processID) }
    }

    public func processes(_ query: ProcessQuery) async throws(StoreError) -> [ProcessRecord] {
        try await read("list processes") { db in try ProcessRecord.all().matching(query).fetchAll(db) }
    }

    public func events(of processID: String, after afterID: Int64) async throws(StoreError) -> [EventRecord] {
        try await read("read the events of \(processID)") { db in
            try EventRecord.all().of(processID, after: afterID).fetchAll(db)
        }
    }

    public func rejections(_ query: RejectionQuery) async throws(StoreError) -> [RejectionRecord] {
        try await read("list rejections") { db in try RejectionRecord.all().matching(query).fetchAll(db) }
    }

    public func statusCounts() async throws(StoreError) -> [ProcessStatus: Int] {
        try await read("count processes by status") { db in
            var counts: [ProcessStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM processes GROUP BY status") {
                if let status = ProcessStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func scheduleStates() async throws(StoreError) -> ScheduleStates {
        try await read("read the schedule state") { db in
            // A store from before schedules (read-only: not migrated by this reader) has none.
            guard try db.tableExists("schedule_state") else { return ScheduleStates(entries: [], lastStatuses: [:]) }
            let entries = try ScheduleStateRecord.fetchAll(db)
            var statuses: [String: ProcessStatus] = [:]
            for id in entries.compactMap(\.lastProcessID) {
                if let text = try String.fetchOne(
                    db, sql: "SELECT status FROM processes WHERE process_id = ?", arguments: [id]),
                    let status = ProcessStatus(rawValue: text)
                {
                    statuses[id] = status
                }
            }
            return ScheduleStates(entries: entries, lastStatuses: statuses)
        }
    }

    public func overview(unfinishedLimit: Int, recentLimit: Int) async throws(StoreError) -> [StoredProcess] {
        try await read("read the overview") { db in
            let unfinished = try ProcessRecord.all().unfinished()
                .order(ProcessRecord.Columns.createdAt, ProcessRecord.Columns.processID)
                .limit(unfinishedLimit).fetchAll(db)
            let recent = try ProcessRecord.all().finished()
                .order(ProcessRecord.Columns.createdAt.desc, ProcessRecord.Columns.processID.desc)
                .limit(recentLimit).fetchAll(db)
            return try (unfinished + recent).map { record in
                StoredProcess(record: record, tasks: try TaskRecord.all().of(record.processID).fetchAll(db))
            }
        }
    }

    public func prunePlan(before time: Date) async throws(StoreError) -> PrunePlan {
        let cutoff = Timestamp.string(time)
        return try await read("plan a prune") { db in
            PrunePlan(
                processIDs: try String.fetchAll(db, sql: Self.finishedBefore, arguments: [cutoff]),
                rejections: try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM rejections WHERE received_at < ?", arguments: [cutoff]) ?? 0)
        }
    }

    static let finishedBefore = """
        SELECT process_id FROM processes
        WHERE status IN ('success', 'failed', 'cancelled') AND ended_at IS NOT NULL AND ended_at < ?
        ORDER BY ended_at
        """
}
