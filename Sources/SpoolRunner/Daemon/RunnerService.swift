import Logging
import ServiceLifecycle
import UnixSignals

/// The engine as a swift-service-lifecycle `Service`: a graceful shutdown (SIGTERM, SIGINT)
/// becomes the engine's own shutdown, which stops intake, lets running tasks finish within the
/// grace period and records everything before returning.
///
/// A second SIGINT or SIGTERM ends the grace at once (the impatient Ctrl-C). The service group
/// ignores signals once it shuts down, so this service counts them itself, for as long as the
/// engine runs.
public struct RunnerService: Service {
    let engine: ProcessEngine

    public init(engine: ProcessEngine) {
        self.engine = engine
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let engine = self.engine
            group.addTask {
                var seen = 0
                for await _ in signals {
                    seen += 1
                    if seen >= 2 { engine.requestStopNow() }
                }
            }
            try await withGracefulShutdownHandler {
                try await engine.run()
            } onGracefulShutdown: {
                engine.requestShutdown()
            }
            group.cancelAll()
        }
    }
}
