import Foundation
import GRDB
import SpoolClient

/// The runner's own writes: the spool binding, sessions, recovery, intake lookups, commits.
extension SQLiteStore {
    public func bind(toSpool identity: String, path spoolPath: String) async throws(StoreError) {
        let storePath = path
        let owner: (id: String, path: String)? = try await write("record the spool it belongs to") { db in
            if let row = try Row.fetchOne(db, sql: "SELECT spool_id, spool_path FROM spool_identity WHERE id = 1") {
                let owner: String = row["spool_id"]
                guard owner == identity else { return (owner, row["spool_path"]) }
                // A spool moved with its identity file and store is still the same spool.
                try db.execute(
                    sql: "UPDATE spool_identity SET spool_path = ? WHERE id = 1 AND spool_path <> ?",
                    arguments: [spoolPath, spoolPath])
                return nil
            }
            try db.execute(
                sql: "INSERT INTO spool_identity (id, spool_id, spool_path, recorded_at) VALUES (1, ?, ?, ?)",
                arguments: [identity, spoolPath, Timestamp.now()])
            return nil
        }
        if let owner {
            throw StoreError(
                .foreignSpool, location: storePath, operation: "record the spool it belongs to",
                message:
                    "this history store belongs to the spool at \(owner.path) (identity \(owner.id)), not to \(spoolPath) (identity \(identity)); give each spool its own --db. If this is the same spool restored or copied without its runner.id, put back \(spoolPath)/runner.id holding \(owner.id)."
            )
        }
    }

    public func beginSession(_ session: RunnerSessionRecord) async throws(StoreError) -> SessionStart {
        try await write("record the runner session") { db in
            var session = session
            try session.insert(db)
            let id = session.id ?? 0
            let previous = try RunnerSessionRecord.filter(Column("id") < id).order(Column("id").desc).fetchOne(db)
            let lastClean =
                try Int64.fetchOne(
                    db, sql: "SELECT max(id) FROM runner_sessions WHERE clean_exit AND id < ?", arguments: [id]) ?? 0
            let firstUnclean = try RunnerSessionRecord.filter(Column("id") > lastClean && Column("id") < id)
                .order(Column("id")).fetchOne(db)
            return SessionStart(sessionID: id, previous: previous, uncleanSince: firstUnclean?.startedAt)
        }
    }

    public func endSession(_ sessionID: Int64, at time: Date) async throws(StoreError) {
        let stamp = Timestamp.string(time)
        try await write("record a clean stop") { db in
            try db.execute(
                sql: "UPDATE runner_sessions SET ended_at = ?, clean_exit = 1 WHERE id = ?",
                arguments: [stamp, sessionID])
            try db.execute(
                sql: "UPDATE processes SET crash_count = 0 WHERE status IN ('pending', 'running') AND crash_count > 0")
        }
    }

    public func unfinishedProcesses() async throws(StoreError) -> [StoredProcess] {
        try await read("load the unfinished processes") { db in
            let records = try ProcessRecord.all().unfinished().order(Column.rowID).fetchAll(db)
            let rows = try TaskRecord.fetchAll(
                db,
                sql: """
                    SELECT tasks.* FROM tasks JOIN processes USING (process_id)
                    WHERE processes.status IN ('pending', 'running') ORDER BY process_id, position
                    """)
            let tasks = Dictionary(grouping: rows, by: \.processID)
            return records.map { StoredProcess(record: $0, tasks: tasks[$0.processID] ?? []) }
        }
    }

    public func requestJSONs(of processIDs: [String]) async throws(StoreError) -> [String: String] {
        guard !processIDs.isEmpty else { return [:] }
        return try await read("look up \(processIDs.count) process id(s)") { db in
            var found: [String: String] = [:]
            for chunk in processIDs.chunks(of: 500) {
                let marks = chunk.sqlPlaceholders
                let rows = try Row.fetchAll(
                    db, sql: "SELECT process_id, request_json FROM processes WHERE process_id IN (\(marks))",
                    arguments: StatementArguments(chunk))
                for row in rows { found[row[0]] = row[1] }
            }
            return found
        }
    }

    public func existingProcessIDs(among processIDs: [String]) async throws(StoreError) -> Set<String> {
        guard !processIDs.isEmpty else { return [] }
        return try await read("look up \(processIDs.count) process id(s)") { db in
            var found: Set<String> = []
            for chunk in processIDs.chunks(of: 500) {
                found.formUnion(
                    try String.fetchAll(
                        db, sql: "SELECT process_id FROM processes WHERE process_id IN (\(chunk.sqlPlaceholders))",
                        arguments: StatementArguments(chunk)))
            }
            return found
        }
    }

    /// - Returns: always `.empty`: the spool's lock makes this runner the store's only writer, so
    ///   it cannot lose a process, and no other host can ask for a cancel.
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> CommitOutcome {
        try await write("commit \(batch.changes.count) process change(s)") { db in
            try CommitStatements.apply(batch, to: db)
        }
        return .empty
    }
}
