/// The engine's live state that the metrics file shows as gauges, copied out of the engine
/// actor in one call per write.
public struct EngineMetricsSnapshot: Sendable, Equatable {
    /// Unfinished processes by process type and status (`pending`, `running`).
    public var processes: [ProcessGaugeKey: Int] = [:]
    /// Running task attempts by process type.
    public var tasksRunning: [String: Int] = [:]
    /// Definition files that failed to load at start or at the last reload.
    public var definitionErrors = 0
    /// The process types defined now: their gauges are shown at zero rather than missing.
    public var processTypes: [String] = []

    public init() {}

    public struct ProcessGaugeKey: Hashable, Sendable {
        public var processType: String
        public var status: ProcessStatus
    }
}
