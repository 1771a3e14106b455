/// The counters of the metrics file: the ones that must never go down, so they are kept in the
/// history store (`metric_counters`) and survive restarts, `serve --once` runs and `prune`.
public enum CounterMetric: String, CaseIterable, Sendable {
    case processes = "spoolrunner_processes_total"
    case rejections = "spoolrunner_rejections_total"
    case taskAttempts = "spoolrunner_task_attempts_total"

    /// The label names, in the order the values of a `CounterKey` follow. Never a process id:
    /// its cardinality is unbounded.
    public var labelNames: [String] {
        switch self {
        case .processes: ["process_type", "status"]
        case .rejections: ["code"]
        case .taskAttempts: ["process_type", "task", "outcome"]
        }
    }

    public var help: String {
        switch self {
        case .processes:
            "Processes that entered each status (a retried process enters pending and running again)."
        case .rejections: "Request files and control messages rejected, by code."
        case .taskAttempts:
            "Task attempts that ended, by outcome: success, failed, retrying (failed, another follows), cancelled, interrupted (the runner stopped)."
        }
    }
}

/// One series of a counter: the metric and its label values, in `labelNames` order.
public struct CounterKey: Hashable, Sendable {
    public var metric: CounterMetric
    public var values: [String]

    public init(_ metric: CounterMetric, _ values: [String]) {
        precondition(values.count == metric.labelNames.count, "\(metric.rawValue) takes \(metric.labelNames)")
        self.metric = metric
        self.values = values
    }

    /// The labels as swift-prometheus takes them (the same order every time: it keys series by
    /// the ordered list).
    public var labels: [(String, String)] { Array(zip(metric.labelNames, values)) }
}
