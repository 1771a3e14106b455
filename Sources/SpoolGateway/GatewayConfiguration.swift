import SpoolClient

/// What `spoolrunner-http` serves: one spool, its definitions, its history store.
public struct GatewayConfiguration: Sendable {
    public var layout: SpoolLayout
    public var definitionsDirectory: String
    public var databasePath: String
    /// The runner's own `--max-request-bytes` default: a body the runner would reject as too large
    /// is refused with 413 before it is read.
    public var maxRequestBytes: Int
    /// At most this much of a task log is served (its end: where the failure is).
    public var maxLogBytes: Int
    /// `runner.json` older than this is a dead or hung runner for `/healthz` (it is rewritten every 2 s).
    public var heartbeatStaleAfter: Double

    public init(
        layout: SpoolLayout, definitionsDirectory: String, databasePath: String,
        maxRequestBytes: Int = 1024 * 1024, maxLogBytes: Int = 1024 * 1024, heartbeatStaleAfter: Double = 15
    ) {
        self.layout = layout
        self.definitionsDirectory = definitionsDirectory
        self.databasePath = databasePath
        self.maxRequestBytes = maxRequestBytes
        self.maxLogBytes = maxLogBytes
        self.heartbeatStaleAfter = heartbeatStaleAfter
    }
}
