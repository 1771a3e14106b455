import GRDB

/// The queries the gateway's API and dashboard ask, each one statement on the SPEC §7 schema.
extension HistoryReader {
    /// Processes matching `filter`, newest first.
    public func processes(_ filter: ProcessFilter) throws(HistoryReadError) -> [ProcessRow] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let type = filter.type {
            conditions.append("process_type = ?")
            arguments += [type]
        }
        if let status = filter.status {
            conditions.append("status = ?")
            arguments += [status]
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments += [since]
        }
        if let until = filter.until {
            conditions.append("created_at < ?")
            arguments += [until]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [filter.limit, filter.offset]
        let sql =
            "SELECT \(ProcessRow.columns) FROM processes \(whereClause) ORDER BY created_at DESC, process_id DESC LIMIT ? OFFSET ?"
        let finalArguments = arguments
        return try read { db in try Row.fetchAll(db, sql: sql, arguments: finalArguments).map(ProcessRow.init) }
    }

    public func process(_ processID: String) throws(HistoryReadError) -> ProcessRow? {
        try read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(ProcessRow.columns) FROM processes WHERE process_id = ?", arguments: [processID]
            ).map(ProcessRow.init)
        }
    }

    /// The request body exactly as it was accepted: the idempotency check compares against it.
    public func requestJSON(_ processID: String) throws(HistoryReadError) -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT request_json FROM processes WHERE process_id = ?", arguments: [processID])
        }
    }

    public func tasks(_ processID: String) throws(HistoryReadError) -> [TaskRow] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT task_name, mode, status, attempts, started_at, ended_at, exit_code, output_json, error_json, on_failure
                    FROM tasks WHERE process_id = ? ORDER BY on_failure, position
                    """, arguments: [processID]
            ).map(TaskRow.init)
        }
    }

    public func events(_ processID: String) throws(HistoryReadError) -> [EventRow] {
        try read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT id, process_id, task_name, event, at, detail_json FROM events WHERE process_id = ? ORDER BY id",
                arguments: [processID]
            ).map(EventRow.init)
        }
    }

    /// How many processes are in each status.
    public func statusCounts() throws(HistoryReadError) -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM processes GROUP BY status") {
                counts[row["status"]] = row["n"]
            }
            return counts
        }
    }
}
