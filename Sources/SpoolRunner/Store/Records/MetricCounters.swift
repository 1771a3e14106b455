import Foundation
import GRDB
import SpoolClient
import Synchronization

/// Every SQL statement of the metrics: the `metric_counters` table (migration v4) that keeps
/// the counters monotonic across restarts, `serve --once` runs and `prune`, and the schedule
/// times the metrics file shows.
///
/// A counter's row is advanced in the same transaction as the state change it counts (the
/// engine's commit batch), so a crash can neither lose nor repeat an increment; the registry is
/// seeded from the rows at start, never from `COUNT(*)` over history that `prune` deletes.
enum MetricCounters {
    /// Adds `increments` to their rows (creating them at zero).
    static func add(_ increments: CounterIncrements, in db: Database) throws {
        guard !increments.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO metric_counters (metric, labels_json, value) VALUES (?, ?, ?)
                ON CONFLICT (metric, labels_json) DO UPDATE SET value = value + excluded.value
                """)
        for (key, amount) in increments.counts {
            try statement.execute(arguments: [key.metric.rawValue, labelsJSON(key), amount])
        }
    }

    /// Every stored counter. A row of a metric this build does not know (a newer build's) is
    /// left alone.
    static func load(_ db: Database) throws -> [CounterKey: Int64] {
        var counters: [CounterKey: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT metric, labels_json, value FROM metric_counters") {
            let text: String = row["labels_json"]
            guard let metric = CounterMetric(rawValue: row["metric"]),
                let labels = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
            else { continue }
            let values = metric.labelNames.compactMap { labels[$0] }
            guard values.count == metric.labelNames.count else { continue }
            counters[CounterKey(metric, values)] = row["value"]
        }
        return counters
    }

    /// The newest slot each scheduled process type submitted (`schedule_state`).
    static func scheduleLastRuns(_ db: Database) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT process_type, MAX(last_submitted_at) AS last FROM schedule_state
                WHERE last_submitted_at IS NOT NULL GROUP BY process_type
                """)
        {
            result[row["process_type"]] = row["last"]
        }
        return result
    }

    /// The labels as a JSON object with sorted keys: one text per series, readable in `sqlite3`.
    /// Remembered per series: every commit advances a few of the same handful of series.
    static func labelsJSON(_ key: CounterKey) -> String {
        if let known = labelsTexts.withLock({ $0[key] }) { return known }
        let text = encodedLabels(key)
        labelsTexts.withLock { texts in
            // Bounded: the series are process types × statuses and task names, but a runner
            // living through many definition changes must not grow this forever.
            if texts.count >= 4096 { texts.removeAll() }
            texts[key] = text
        }
        return text
    }

    private static let labelsTexts = Mutex<[CounterKey: String]>([:])

    private static func encodedLabels(_ key: CounterKey) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let labels = Dictionary(uniqueKeysWithValues: key.labels)
        return String(decoding: (try? encoder.encode(labels)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension SQLiteStore {
    public func metricCounters() async throws(StoreError) -> [CounterKey: Int64] {
        try await read("read the metric counters") { db in try MetricCounters.load(db) }
    }

    public func scheduleLastRuns() async throws(StoreError) -> [String: Date] {
        try await read("read the schedules' last runs") { db in
            try MetricCounters.scheduleLastRuns(db).compactMapValues(Timestamp.parse)
        }
    }
}
