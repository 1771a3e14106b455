import Logging
import ServiceLifecycle

/// The engine as a swift-service-lifecycle `Service`: a graceful shutdown (SIGTERM, SIGINT)
/// becomes the engine's own shutdown, which stops intake, lets running tasks finish within the
/// grace period and records everything before returning.
public struct RunnerService: Service {
    let engine: ProcessEngine

    public init(engine: ProcessEngine) {
        self.engine = engine
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await engine.run()
        } onGracefulShutdown: {
            engine.requestShutdown()
        }
    }
}
