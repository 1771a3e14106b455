import Foundation
import PostgresNIO
import SpoolClient
import SpoolRunner

/// The reads of `StoreReader` on PostgreSQL: the CLI's `status`, `history`, `events`,
/// `rejections` with `--store`, `watch`, the gateway. The same records as SQLite's store for the
/// same data (`RowJSON`), the same filters and orders, on the indexes of migration v1.
extension PostgresStore: StoreReader {
    /// The URL with its password masked.
    public var location: String { url.description }

    public func snapshot(_ processID: String) async throws(StoreError) -> StoredProcess? {
        try await storeCall("read process \(processID)") { [self] in
            try RowJSON.decode(
                RowJSON.StoredProcessRow.self,
                try await texts(
                    "SELECT \(unescaped: RowJSON.storedProcess)::text FROM processes p WHERE p.process_id = \(processID)"
                )
            ).first?.value
        }
    }

    public func process(_ processID: String) async throws(StoreError) -> ProcessRecord? {
        try await storeCall("read process \(processID)") { [self] in
            try RowJSON.decode(
                ProcessRecord.self,
                try await texts(
                    "SELECT \(unescaped: RowJSON.process)::text FROM processes p WHERE p.process_id = \(processID)")
            ).first
        }
    }

    public func processes(_ query: ProcessQuery) async throws(StoreError) -> [ProcessRecord] {
        let since = query.since.map(Timestamp.string)
        let until = query.until.map(Timestamp.string)
        let status = query.status?.rawValue
        return try await storeCall("list processes") { [self] in
            // Each filter is `$n::text IS NULL OR …`: a text parameter's null test folds away when
            // the statement is planned with its values, so the (type, created_at), (status,
            // created_at) and (created_at) indexes serve the filters given. (A null test of the
            // `::timestamptz` cast would not fold, the cast being only stable: the OR stayed, and a
            // time range over 1,000,000 processes read them all, 440 ms instead of 0.3.)
            try RowJSON.decode(
                ProcessRecord.self,
                try await texts(
                    """
                    SELECT \(unescaped: RowJSON.process)::text FROM processes p
                     WHERE (\(query.type)::text IS NULL OR p.process_type = \(query.type))
                       AND (\(status)::text IS NULL OR p.status = \(status))
                       AND (\(since)::text IS NULL OR p.created_at >= \(since)::timestamptz)
                       AND (\(until)::text IS NULL OR p.created_at < \(until)::timestamptz)
                     ORDER BY p.created_at DESC, p.process_id DESC
                     LIMIT \(query.limit) OFFSET \(query.offset)
                    """))
        }
    }

    public func events(of processID: String, after afterID: Int64) async throws(StoreError) -> [EventRecord] {
        try await storeCall("read the events of \(processID)") { [self] in
            try RowJSON.decode(
                EventRecord.self,
                try await texts(
                    """
                    SELECT \(unescaped: RowJSON.event)::text FROM events e
                     WHERE e.process_id = \(processID) AND e.id > \(afterID) ORDER BY e.id
                    """))
        }
    }

    public func rejections(_ query: RejectionQuery) async throws(StoreError) -> [RejectionRecord] {
        let since = query.since.map(Timestamp.string)
        return try await storeCall("list rejections") { [self] in
            try RowJSON.decode(
                RejectionRecord.self,
                try await texts(
                    """
                    SELECT \(unescaped: RowJSON.rejection)::text FROM rejections r
                     WHERE (\(query.code)::text IS NULL OR r.code = \(query.code))
                       AND (\(since)::text IS NULL OR r.received_at >= \(since)::timestamptz)
                     ORDER BY r.id DESC LIMIT \(query.limit)
                    """))
        }
    }

    public func statusCounts() async throws(StoreError) -> [ProcessStatus: Int] {
        try await storeCall("count processes by status") { [self] in
            var counts: [ProcessStatus: Int] = [:]
            let rows = try await self.rows("SELECT status, count(*) FROM processes GROUP BY status")
            for try await (text, count) in rows.decode((String, Int64).self) {
                if let status = ProcessStatus(rawValue: text) { counts[status] = Int(count) }
            }
            return counts
        }
    }

    public func scheduleStates() async throws(StoreError) -> ScheduleStates {
        try await storeCall("read the schedule state") { [self] in
            let rows = try await self.rows(
                """
                SELECT \(unescaped: RowJSON.scheduleState)::text, p.status
                  FROM schedule_state s LEFT JOIN processes p ON p.process_id = s.last_process_id
                 ORDER BY s.process_type, s.entry
                """)
            var texts: [String] = []
            var statuses: [String: ProcessStatus] = [:]
            for try await (text, status) in rows.decode((String, String?).self) {
                texts.append(text)
                if let status = status.flatMap(ProcessStatus.init(rawValue:)) {
                    let entry = try RowJSON.decode(ScheduleStateRecord.self, [text])[0]
                    if let id = entry.lastProcessID { statuses[id] = status }
                }
            }
            return ScheduleStates(entries: try RowJSON.decode(ScheduleStateRecord.self, texts), lastStatuses: statuses)
        }
    }

    public func overview(unfinishedLimit: Int, recentLimit: Int) async throws(StoreError) -> [StoredProcess] {
        try await storeCall("read the overview") { [self] in
            try RowJSON.decode(
                RowJSON.StoredProcessRow.self,
                try await texts(
                    """
                    (SELECT \(unescaped: RowJSON.storedProcess)::text FROM processes p
                      WHERE p.status IN ('pending', 'running')
                      ORDER BY p.created_at, p.process_id LIMIT \(unfinishedLimit))
                    UNION ALL
                    (SELECT \(unescaped: RowJSON.storedProcess)::text FROM processes p
                      WHERE p.status NOT IN ('pending', 'running')
                      ORDER BY p.created_at DESC, p.process_id DESC LIMIT \(recentLimit))
                    """)
            ).map(\.value)
        }
    }

    /// This runner's own counters (each runner counts what it did: summing the fleet's metrics
    /// files counts everything once).
    public func metricCounters() async throws(StoreError) -> [CounterKey: Int64] {
        try await storeCall("read the metric counters") { [self] in
            let rows = try await self.rows(
                "SELECT metric, labels_json, value FROM metric_counters WHERE runner_id = \(runnerID)")
            var counters: [CounterKey: Int64] = [:]
            for try await (name, labelsText, value) in rows.decode((String, String, Int64).self) {
                // A row of a metric this build does not know (a newer build's) is left alone.
                guard let metric = CounterMetric(rawValue: name),
                    let labels = try? JSONDecoder().decode([String: String].self, from: Data(labelsText.utf8))
                else { continue }
                let values = metric.labelNames.compactMap { labels[$0] }
                guard values.count == metric.labelNames.count else { continue }
                counters[CounterKey(metric, values)] = value
            }
            return counters
        }
    }

    public func scheduleLastRuns() async throws(StoreError) -> [String: Date] {
        try await storeCall("read the schedules' last runs") { [self] in
            let rows = try await self.rows(
                """
                SELECT process_type, \(unescaped: Self.stamp("max(last_submitted_at)")) FROM schedule_state
                 WHERE last_submitted_at IS NOT NULL GROUP BY process_type
                """)
            var result: [String: Date] = [:]
            for try await (type, text) in rows.decode((String, String).self) { result[type] = Timestamp.parse(text) }
            return result
        }
    }

    public func prunePlan(before cutoff: Date) async throws(StoreError) -> PrunePlan {
        let stamp = Timestamp.string(cutoff)
        return try await storeCall("plan a prune") { [self] in
            let ids = try await texts(
                """
                SELECT process_id FROM processes
                 WHERE status IN ('success', 'failed', 'cancelled') AND ended_at < \(stamp)::timestamptz
                   AND owner_runner IS NULL
                 ORDER BY ended_at, process_id
                """)
            var rejections: Int64 = 0
            let rows = try await self.rows(
                "SELECT count(*) FROM rejections WHERE received_at < \(stamp)::timestamptz")
            for try await count in rows.decode(Int64.self) { rejections = count }
            return PrunePlan(processIDs: ids, rejections: Int(rejections))
        }
    }
}
