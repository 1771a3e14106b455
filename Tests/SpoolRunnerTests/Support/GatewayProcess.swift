import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real `spoolrunner-http` binary serving a `TemporarySpool` on a free loopback port.
final class GatewayProcess: @unchecked Sendable {
    let command: RunningCommand
    let port: UInt16

    /// `spoolrunner-http`, built beside `spoolrunner`.
    static var binary: String { TemporarySpool.binary + "-http" }

    /// Starts it with `--listen 127.0.0.1:0` and waits for the bound address in its log.
    init(_ spool: TemporarySpool, extra: [String] = []) async throws {
        command = try RunningCommand(
            executable: Self.binary,
            arguments: [
                "--listen", "127.0.0.1:0", "--spool", spool.layout.root, "--definitions", spool.definitions.path,
            ] + extra,
            environment: [:], directory: spool.root.path)
        var found: UInt16?
        let deadline = Date().addingTimeInterval(60)
        while found == nil && Date() < deadline && !command.hasExited {
            let log = (try? String(contentsOfFile: command.errorPath, encoding: .utf8)) ?? ""
            if let range = log.range(of: #"listening on http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                found = UInt16(log[range].split(separator: ":").last!)
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let found else {
            let log = (try? String(contentsOfFile: command.errorPath, encoding: .utf8)) ?? ""
            command.signal(SIGKILL)
            throw HTTPTestClient.Failure(description: "spoolrunner-http did not log its address: \(log)")
        }
        port = found
    }

    deinit {
        if command.process.isRunning { command.signal(SIGKILL) }
    }

    /// One request, its blocking socket I/O on a thread of its own (see `DedicatedThread`).
    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws
        -> HTTPReply
    {
        let port = self.port
        return try await DedicatedThread.run {
            try HTTPTestClient.send(port: port, method, path, headers: headers, body: body)
        }
    }

    func get(_ path: String) async throws -> HTTPReply { try await send("GET", path) }

    /// A JSON POST of `body`.
    func post(_ path: String, _ body: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await send(
            "POST", path, headers: ["Content-Type": "application/json"].merging(headers) { $1 }, body: Data(body.utf8))
    }

    /// SIGTERM, then the exit.
    func stop() async -> CommandResult {
        command.signal(SIGTERM)
        return await command.wait(timeout: 30)
    }
}
