extension ProcessEngine {
    /// The live state the metrics file shows as gauges: a copy, taken in one call per write.
    package func metricsSnapshot() -> EngineMetricsSnapshot {
        var snapshot = EngineMetricsSnapshot()
        for run in processes.values where !run.record.status.isFinal {
            snapshot.processes[.init(processType: run.record.processType, status: run.record.status), default: 0] += 1
        }
        for key in running.keys {
            guard let type = processes[key.processID]?.record.processType else { continue }
            snapshot.tasksRunning[type, default: 0] += 1
        }
        snapshot.definitionErrors = catalog.errors.count
        snapshot.processTypes = catalog.definitions.keys.sorted()
        return snapshot
    }

    /// After a durable commit: the registry follows the store's counters, and the histograms
    /// observe what ended.
    func committed(_ batch: StoreBatch) {
        guard let metrics else { return }
        metrics.count(batch.counters)
        for change in batch.changes {
            metrics.observe(record: change.record, tasks: change.tasks, events: change.events)
        }
    }
}
