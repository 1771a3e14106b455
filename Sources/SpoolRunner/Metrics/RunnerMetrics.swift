import Foundation
import Prometheus
import Synchronization

/// The runner's metrics, in a `PrometheusCollectorRegistry` that is injected (never the global
/// `MetricsSystem`): rendered into the textfile that node_exporter reads (`serve --metrics-file`).
///
/// Counters are seeded from the store's `metric_counters` at start and advanced after each
/// durable commit by the same increments the commit wrote, so they never go down. Histograms
/// live in memory only and start empty at each start (Prometheus' `rate()` and
/// `histogram_quantile()` handle the reset). Gauges are set from the engine's state and the
/// inbox at each write. No series carries a process id: its cardinality is unbounded.
public final class RunnerMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let inboxRequests: Gauge
    private let inboxOldestAge: Gauge
    private let definitionErrors: Gauge
    private let state = Mutex(State())

    private struct State {
        /// When each live process last became pending (accepted, or retried), for the queue
        /// wait; a process recovered after a restart falls back to its `created_at`.
        var pendingSince: [String: Date] = [:]
        /// When each running attempt started (from its committed `task_started`).
        var taskStarts: [TaskKey: Date] = [:]
        /// Labelled gauge series shown before, so one whose value disappeared is set to zero.
        var processSeries: Set<EngineMetricsSnapshot.ProcessGaugeKey> = []
        var taskSeries: Set<String> = []
    }

    private struct TaskKey: Hashable {
        var processID: String
        var task: String
    }

    /// Bucket bounds in seconds, from a quick `sleep` to a day-long batch job.
    static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
    ]

    public init(registry: PrometheusCollectorRegistry, version: String = Version.current, startTime: Date = Date()) {
        self.registry = registry
        registry.makeGauge(
            descriptor: Self.named("spoolrunner_build_info", "The runner's version; always 1."),
            labels: [("version", version)]
        ).set(1.0)
        registry.makeGauge(
            descriptor: Self.named("spoolrunner_start_time_seconds", "When this runner started, in Unix seconds.")
        ).set(startTime.timeIntervalSince1970)
        inboxRequests = registry.makeGauge(
            descriptor: Self.named("spoolrunner_inbox_requests", "Request files waiting in inbox/."))
        inboxOldestAge = registry.makeGauge(
            descriptor: Self.named(
                "spoolrunner_inbox_oldest_request_age_seconds",
                "Age of the oldest request file in inbox/ (0 when there is none)."))
        definitionErrors = registry.makeGauge(
            descriptor: Self.named(
                "spoolrunner_definition_errors",
                "Definition files that failed to load (their requests are rejected)."))
    }

    /// A whole metric name and its help (no namespace or unit parts: the names are the SPEC's).
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // MARK: - Counters

    /// Sets the counters to the values stored by earlier runs (the registry starts at zero).
    package func seed(_ counters: [CounterKey: Int64]) {
        for (key, value) in counters where value > 0 { counter(key).increment(by: value) }
    }

    /// Adds what a durable commit counted.
    package func count(_ increments: CounterIncrements) {
        for (key, amount) in increments.counts { counter(key).increment(by: amount) }
    }

    private func counter(_ key: CounterKey) -> Counter {
        registry.makeCounter(
            descriptor: Self.named(key.metric.rawValue, key.metric.help), labels: key.labels)
    }

    // MARK: - Histograms

    /// Observes the durations that the committed events of one process end.
    func observe(record: ProcessRecord, tasks: [TaskRecord], events: [EventRecord]) {
        let type = record.processType
        for event in events {
            let at = event.at
            if let task = event.taskName {
                let key = TaskKey(processID: record.processID, task: task)
                if event.event == .taskStarted {
                    state.withLock { $0.taskStarts[key] = at }
                    continue
                }
                guard let outcome = CounterIncrements.attemptOutcome(of: event) else { continue }
                // From the attempt's own start event: a retry may start in the same commit as
                // the end of the attempt before it, so the task row already has the new start.
                let started =
                    state.withLock { $0.taskStarts.removeValue(forKey: key) }
                    ?? tasks.first { $0.taskName == task }?.startedAt
                // An interrupted attempt's length is unknown: the runner died during it.
                guard outcome != "interrupted", let started, at >= started else { continue }
                histogram(
                    "spoolrunner_task_duration_seconds", Self.taskDurationHelp,
                    [("process_type", type), ("task", task)]
                ).record(at.timeIntervalSince(started))
                continue
            }
            switch CounterIncrements.statusEntered(by: event.event) {
            case .pending:
                state.withLock { $0.pendingSince[record.processID] = at }
            case .running:
                let since =
                    state.withLock { $0.pendingSince.removeValue(forKey: record.processID) }
                    ?? record.createdAt
                histogram("spoolrunner_queue_wait_seconds", Self.queueWaitHelp, [("process_type", type)])
                    .record(max(0, at.timeIntervalSince(since)))
            case .some(let status) where status.isFinal:
                let pending = state.withLock { $0.pendingSince.removeValue(forKey: record.processID) }
                let started =
                    record.startedAt ?? pending ?? record.createdAt
                histogram(
                    "spoolrunner_process_duration_seconds", Self.processDurationHelp,
                    [("process_type", type), ("status", status.rawValue)]
                ).record(max(0, at.timeIntervalSince(started)))
            default: continue
            }
        }
    }

    static let taskDurationHelp = "Length of ended task attempts (histograms restart empty with the runner)."
    static let queueWaitHelp =
        "From a process becoming pending (accepted from inbox/, or retried) to its first task's start."
    static let processDurationHelp = "From a process's start (or acceptance, if it never started) to its end."

    private func histogram(_ name: String, _ help: String, _ labels: [(String, String)]) -> ValueHistogram {
        registry.makeValueHistogram(
            descriptor: Self.named(name, help), labels: labels, buckets: Self.durationBuckets)
    }

    // MARK: - Gauges

    /// Sets the gauges from the engine's state, the inbox and the schedules' last runs.
    package func update(snapshot: EngineMetricsSnapshot, backlog: InboxBacklog, scheduleLastRuns: [String: Date]) {
        inboxRequests.set(Double(backlog.requests))
        inboxOldestAge.set(backlog.oldestAge)
        definitionErrors.set(Double(snapshot.definitionErrors))
        var processKeys = Set(snapshot.processes.keys)
        for type in snapshot.processTypes {
            processKeys.insert(.init(processType: type, status: .pending))
            processKeys.insert(.init(processType: type, status: .running))
        }
        let taskTypes = Set(snapshot.processTypes).union(snapshot.tasksRunning.keys)
        let (oldProcessKeys, oldTaskTypes) = state.withLock { state in
            defer {
                state.processSeries.formUnion(processKeys)
                state.taskSeries.formUnion(taskTypes)
            }
            return (state.processSeries, state.taskSeries)
        }
        for key in processKeys.union(oldProcessKeys) {
            registry.makeGauge(
                descriptor: Self.named("spoolrunner_processes", "Unfinished processes by type and status."),
                labels: [("process_type", key.processType), ("status", key.status.rawValue)]
            ).set(Double(snapshot.processes[key] ?? 0))
        }
        for type in taskTypes.union(oldTaskTypes) {
            registry.makeGauge(
                descriptor: Self.named("spoolrunner_tasks_running", "Task attempts running now."),
                labels: [("process_type", type)]
            ).set(Double(snapshot.tasksRunning[type] ?? 0))
        }
        for (type, date) in scheduleLastRuns {
            registry.makeGauge(
                descriptor: Self.named(
                    "spoolrunner_schedule_last_run_timestamp_seconds",
                    "When the newest schedule slot of the type was submitted, in Unix seconds."),
                labels: [("process_type", type)]
            ).set(date.timeIntervalSince1970)
        }
    }

    /// The Prometheus text exposition of every metric (no timestamps: node_exporter's textfile
    /// collector refuses them).
    package func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
