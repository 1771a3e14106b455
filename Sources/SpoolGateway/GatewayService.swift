import FlyingFox
import FlyingSocks
import Logging

/// Runs the HTTP server until cancelled or asked to stop, then stops taking connections and
/// lets the requests in flight finish (up to `grace` seconds).
public struct GatewayService: Sendable {
    let server: HTTPServer
    let listen: ListenAddress
    let grace: Double
    let logger: Logger

    public init(gateway: Gateway, listen: ListenAddress, grace: Double = 5, logger: Logger) throws {
        let configuration = HTTPServer.Configuration(address: try listen.socketAddress(), timeout: 15, logger: .disabled)
        self.server = HTTPServer(config: configuration, handler: gateway)
        self.listen = listen
        self.grace = grace
        self.logger = logger
    }

    /// Serves until the task is cancelled or `stop()` is called.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                try await server.waitUntilListening()
                let bound = await server.listeningAddress.map(Self.describe) ?? listen.description
                logger.notice("listening on http://\(bound)", metadata: ["listen": "\(listen)"])
            }
            try await group.waitForAll()
        }
    }

    /// Graceful stop: close the listening socket, finish the requests in flight.
    public func stop() async {
        logger.notice("stopping: finishing the requests in flight", metadata: ["grace": "\(grace)"])
        await server.stop(timeout: grace)
    }

    static func describe(_ address: Socket.Address) -> String {
        switch address {
        case .ip4(let host, let port): "\(host):\(port)"
        case .ip6(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }
}
