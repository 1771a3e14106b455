import Foundation
import Logging
import PostgresNIO
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for the tests: one per `swift test` process, in a temporary
/// directory, on 127.0.0.1 and a free port, stopped (`pg_ctl -m immediate`) and removed when the
/// process exits. `SPOOLRUNNER_TEST_PG_URL` names a server to use instead.
///
/// initdb and postgres refuse to run as root, so as root they run as the `postgres` user the
/// Debian package creates, in a directory it owns. Each test asks for its own database
/// (`database(…)`), so tests share the server but never data.
final class PostgresTestServer: Sendable {
    /// The admin URL (database `postgres`), without a password: `initdb -A trust`.
    let url: StoreURL
    let directory: String?

    static let shared: Result<PostgresTestServer, SetupError> = {
        if let given = ProcessInfo.processInfo.environment["SPOOLRUNNER_TEST_PG_URL"] {
            return Result { try PostgresTestServer(url: StoreURL.parse(given), directory: nil) }
                .mapError { SetupError(reason: "SPOOLRUNNER_TEST_PG_URL: \($0)") }
        }
        return Result { try start() }.mapError { $0 as? SetupError ?? SetupError(reason: "\($0)") }
    }()

    /// The shared server, or the calling test skipped (failed under SPOOLRUNNER_REQUIRE_ALL=1)
    /// with the reason it could not start.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> PostgresTestServer {
        switch shared {
        case .success(let server): return server
        case .failure(let error):
            try Requirement.check(false, "PostgreSQL: \(error.reason)", sourceLocation: sourceLocation)
            throw error
        }
    }

    init(url: StoreURL, directory: String?) {
        self.url = url
        self.directory = directory
    }

    /// A new, empty database on the server, named after `label`, and its URL.
    func database(_ label: String, logger: Logger = Logger(label: "test")) async throws -> StoreURL {
        let clean = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let name = "t_" + String(clean.prefix(40)) + "_" + UUID().uuidString.prefix(8).lowercased()
        var admin = url
        admin.database = "postgres"
        let connection = try await PostgresConnection.connect(
            configuration: admin.connectionConfiguration(applicationName: "spoolrunner-tests"), id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        var result = url
        result.database = name
        return result
    }

    struct SetupError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    // MARK: Starting and stopping

    private static func start() throws -> PostgresTestServer {
        guard let bin = findBinaries() else {
            throw SetupError(reason: "no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
        }
        let asRoot = geteuid() == 0
        // As root the cluster runs as `postgres`, which must reach the directory: not under /root.
        let base = asRoot ? "/tmp" : NSTemporaryDirectory()
        let directory = (base as NSString).appendingPathComponent(
            "spoolrunner-pg-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = directory + "/data"
        let prefix: [String] = asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        if asRoot {
            guard getpwnam("postgres") != nil else {
                throw SetupError(reason: "running as root and there is no `postgres` user to run the server as")
            }
            try run(["/bin/chown", "postgres:", directory])
        }
        try run(
            prefix + [
                "\(bin)/initdb", "-A", "trust", "-U", "spoolrunner", "-E", "UTF8", "--no-instructions", "-D", data,
            ])
        var lastError = SetupError(reason: "no free port")
        for _ in 0..<3 {
            let port = try freePort()
            let options =
                "-c listen_addresses=127.0.0.1 -p \(port) -k \(directory) -c fsync=on -c synchronous_commit=on"
                + " -c max_connections=200"
            do {
                try run(
                    prefix + [
                        "\(bin)/pg_ctl", "-w", "-D", data, "-l", directory + "/server.log", "-o", options, "start",
                    ])
            } catch let error as SetupError {
                lastError = error
                continue
            }
            stopCommand = prefix + ["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "stop"]
            stopDirectory = directory
            atexit { PostgresTestServer.stop() }
            watchParent(stop: stopCommand, directory: directory)
            let url = StoreURL(
                endpoint: .tcp(host: "127.0.0.1", port: port), user: "spoolrunner", database: "postgres", tls: .disable)
            return PostgresTestServer(url: url, directory: directory)
        }
        throw lastError
    }

    nonisolated(unsafe) private static var stopCommand: [String] = []
    nonisolated(unsafe) private static var stopDirectory: String?

    private static func stop() {
        guard !stopCommand.isEmpty else { return }
        _ = try? run(stopCommand)
        if let stopDirectory { try? FileManager.default.removeItem(atPath: stopDirectory) }
        stopCommand = []
    }

    /// When the test process dies without running atexit (a crash, SIGKILL), a small shell stops
    /// the cluster: no server outlives the tests.
    private static func watchParent(stop: [String], directory: String) {
        let quoted = stop.map { "'\($0)'" }.joined(separator: " ")
        let script =
            "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(quoted) >/dev/null 2>&1; rm -rf '\(directory)'"
        _ = try? spawn(["/bin/sh", "-c", script], output: "/dev/null", wait: false)
    }

    private static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    /// A port nothing listens on now (bound to 0, read back, closed). Another program may take it
    /// before the server does; `start` then tries again.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SetupError(reason: "socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw SetupError(reason: "bind(127.0.0.1:0): errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @discardableResult
    private static func run(_ command: [String]) throws -> String {
        let log = NSTemporaryDirectory() + "pg-command-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = try spawn(command, output: log, wait: true)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw SetupError(reason: "\(command.joined(separator: " ")) exited \(status): \(text.suffix(600))")
        }
        return text
    }

    /// posix_spawn through bash closing every descriptor but 0–2, and waitpid. Not Foundation's
    /// Process: the server that pg_ctl leaves running must inherit none of the test process's
    /// pipes (or `swift test` would wait for them to close), and its exit must be reaped here.
    /// (glibc's posix_spawn_file_actions_addclosefrom_np is not imported into Swift.)
    private static func spawn(_ command: [String], output: String, wait: Bool) throws -> Int32 {
        let closer =
            #"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; exec "$@""#
        let command = ["/bin/bash", "-c", closer, "close-fds"] + command
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard result == 0 else { throw SetupError(reason: "cannot start \(command[0]): errno \(result)") }
        guard wait else { return 0 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS by hand: the C macros are not imported.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
