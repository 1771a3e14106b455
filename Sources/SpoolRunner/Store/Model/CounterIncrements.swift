import ProcessDefinitions
import SpoolClient

/// What one commit adds to the counters, derived from the events and rejections it records.
///
/// Computed from the same rows the commit writes, so the store's `metric_counters` and the
/// history can never disagree, and a commit retried after a busy store counts once: the
/// increments are added in its transaction and in memory only after it is durable.
public struct CounterIncrements: Sendable, Equatable {
    public private(set) var counts: [CounterKey: Int64] = [:]

    public init() {}

    public var isEmpty: Bool { counts.isEmpty }

    public mutating func add(_ key: CounterKey, _ amount: Int64 = 1) {
        counts[key, default: 0] += amount
    }

    public mutating func add(_ other: CounterIncrements) {
        for (key, amount) in other.counts { add(key, amount) }
    }

    /// The counters the events of one process advance.
    public mutating func add(events: [EventRecord], processType: String) {
        for event in events {
            if let status = Self.statusEntered(by: event.event) {
                add(CounterKey(.processes, [processType, status.rawValue]))
            }
            if let task = event.taskName, let outcome = Self.attemptOutcome(of: event) {
                add(CounterKey(.taskAttempts, [processType, task, outcome]))
            }
        }
    }

    public mutating func add(rejectionCode code: FailureCode) {
        add(CounterKey(.rejections, [code.rawValue]))
    }

    /// The status a process enters with this event, if any.
    public static func statusEntered(by event: EventKind) -> ProcessStatus? {
        switch event {
        case .accepted, .retryRequested: .pending
        case .processStarted: .running
        case .processSucceeded: .success
        case .processFailed: .failed
        case .processCancelled: .cancelled
        default: nil
        }
    }

    /// How the attempt this event ends ended, if it ends one. `task_cancelled` also marks a task
    /// that was waiting for its retry (no attempt running): only the one with an `attempt`
    /// detail ended an attempt.
    public static func attemptOutcome(of event: EventRecord) -> String? {
        switch event.event {
        case .taskSucceeded: "success"
        case .taskFailed: "failed"
        case .taskRetrying: "retrying"
        case .taskInterrupted: "interrupted"
        case .taskCancelled: event.detail?["attempt"] == nil ? nil : "cancelled"
        default: nil
        }
    }
}
