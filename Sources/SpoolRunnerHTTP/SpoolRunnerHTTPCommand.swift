import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SpoolClient
import SpoolGateway

/// `spoolrunner-http`: the seed's HTTP API and a web dashboard over one spool.
@main
struct SpoolRunnerHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spoolrunner-http",
        abstract: "Serve the seed's HTTP API and a web dashboard over a spool.",
        discussion: """
            POST /api/process/ drops a request into SPOOL/inbox/ as `spoolrunner submit` does;
            GET /process/<id>/status reads SPOOL/outbox/<id>.json; / is the dashboard; /openapi.json
            documents every route. It reads the history store read-only; `spoolrunner serve` stays
            the only writer. No authentication: keep it on loopback or behind a reverse proxy.

            Exit status: 0 after SIGTERM/SIGINT; 64 usage; 71 the address cannot be bound.
            """
    )

    @Option(
        help: ArgumentHelp(
            "Address to listen on: HOST:PORT or [IPv6]:PORT; port 0 picks a free one.", valueName: "ADDR:PORT"))
    var listen: String = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Spool root (env SPOOLRUNNER_SPOOL).", valueName: "DIR"))
    var spool: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_SPOOL"] ?? "./spool"

    @Option(help: ArgumentHelp("Definitions directory (env SPOOLRUNNER_DEFINITIONS).", valueName: "DIR"))
    var definitions: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_DEFINITIONS"] ?? "./definitions"

    @Option(help: ArgumentHelp("History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).", valueName: "FILE"))
    var db: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func validate() throws {
        guard ListenAddress(listen) != nil else {
            throw ValidationError(
                "--listen must be HOST:PORT with an IPv4 address or [IPv6]:PORT (e.g. 127.0.0.1:8080, [::1]:0); got '\(listen)'"
            )
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "spoolrunner-http")
        let layout = SpoolLayout(root: spool)
        let configuration = GatewayConfiguration(
            layout: layout,
            definitionsDirectory: URL(fileURLWithPath: definitions).standardizedFileURL.path,
            databasePath: db ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_DB"] ?? layout.defaultDatabase)
        let service = try GatewayService(
            gateway: Gateway(configuration: configuration, logger: logger), listen: ListenAddress(listen)!,
            logger: logger)
        var group = ServiceGroupConfiguration(services: [HTTPGatewayService(service: service)], logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        logger.info(
            "starting",
            metadata: [
                "spool": "\(layout.root)", "definitions": "\(configuration.definitionsDirectory)",
                "db": "\(configuration.databasePath)",
            ])
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            FileHandle.standardError.write(Data("spoolrunner-http: \(error)\n".utf8))
            throw ExitCode(71)
        }
        logger.info("stopped")
    }
}

/// The gateway as a service of the group: SIGTERM triggers a graceful stop.
struct HTTPGatewayService: Service {
    let service: GatewayService

    func run() async throws {
        try await service.run(until: {
            // Returns at SIGTERM/SIGINT (graceful shutdown), or when the group is cancelled.
            try? await gracefulShutdown()
        })
    }
}
