/// The engine's live state that the metrics file shows as gauges, copied out of the engine
/// actor in one call per write.
package struct EngineMetricsSnapshot: Sendable, Equatable {
    /// Unfinished processes by process type and status (`pending`, `running`).
    package var processes: [ProcessGaugeKey: Int] = [:]
    /// Running task attempts by process type.
    package var tasksRunning: [String: Int] = [:]
    /// Definition files that failed to load at start or at the last reload.
    package var definitionErrors = 0
    /// The process types defined now: their gauges are shown at zero rather than missing.
    package var processTypes: [String] = []

    package init() {}

    package struct ProcessGaugeKey: Hashable, Sendable {
        package var processType: String
        package var status: ProcessStatus
    }
}
