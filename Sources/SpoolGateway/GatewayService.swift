import FlyingFox
import FlyingSocks
import Foundation
import Logging

/// Runs the HTTP server; a graceful stop closes the listening socket, lets the requests in
/// flight finish (up to `grace` seconds), then ends the server.
public struct GatewayService: Sendable {
    let server: HTTPServer
    let gateway: Gateway
    let listen: ListenAddress
    let grace: Double
    let logger: Logger

    public init(gateway: Gateway, listen: ListenAddress, grace: Double = 5, logger: Logger) throws {
        let configuration = HTTPServer.Configuration(
            address: try listen.socketAddress(), timeout: 15, logger: .disabled)
        self.server = HTTPServer(config: configuration, handler: gateway)
        self.gateway = gateway
        self.listen = listen
        self.grace = grace
        self.logger = logger
    }

    /// Serves until `stopRequested` returns, then stops gracefully. Ends normally after a stop;
    /// throws only when the server itself fails (the address cannot be bound).
    public func run(until stopRequested: @escaping @Sendable () async -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await server.run()
                return false
            }
            group.addTask {
                try await server.waitUntilListening()
                let bound = await server.listeningAddress.map(Self.describe) ?? listen.description
                logger.notice("listening on http://\(bound)", metadata: ["listen": "\(listen)"])
                await stopRequested()
                await stop()
                return true
            }
            // The first child to end decides: a stop ends the server, a server failure is thrown.
            do {
                while let stopped = try await group.next() {
                    if stopped { break }
                }
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Close the listener (new connections are refused), wait for the requests in flight.
    private func stop() async {
        logger.notice(
            "stopping: no new connections, finishing \(gateway.inFlight.current) request(s) in flight",
            metadata: ["grace": "\(grace)"])
        let closing = Task { await server.stop(timeout: grace) }
        let deadline = Date().addingTimeInterval(grace)
        while gateway.inFlight.current > 0 && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        closing.cancel()
    }

    static func describe(_ address: Socket.Address) -> String {
        switch address {
        case .ip4(let host, let port): "\(host):\(port)"
        case .ip6(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }
}
