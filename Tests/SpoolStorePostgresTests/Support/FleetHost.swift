import Foundation
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One host of a test fleet: its own spool and definitions directory in a temporary directory,
/// and the real `spoolrunner` binary to run `serve --store` on them.
final class FleetHost: @unchecked Sendable {
    let name: String
    let root: String
    var spool: String { root + "/spool" }
    var definitions: String { root + "/definitions" }
    /// Shared by every host of a test (the "ledger" the tasks append to).
    let shared: String
    private(set) var runner: FleetRunner?

    init(_ name: String, shared: String) throws {
        self.name = name
        self.shared = shared
        root = NSTemporaryDirectory() + "fleet-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: definitions, withIntermediateDirectories: true)
    }

    deinit {
        runner?.kill(SIGKILL)
        // FLEET_KEEP=1 keeps the hosts' spools and logs for a look after a failure.
        if ProcessInfo.processInfo.environment["FLEET_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// The `spoolrunner` executable built next to the test bundle.
    static var binary: String {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("spoolrunner").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("spoolrunner").path,
            Bundle.main.bundleURL.appendingPathComponent("spoolrunner").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Writes `definitions/<name>`; `$FLEET_LEDGER` in it becomes the shared ledger's path (tasks
    /// run with the runner's task environment, not the test's).
    func define(_ name: String, _ yaml: String) throws {
        try yaml.replacingOccurrences(of: "$FLEET_LEDGER", with: shared + "/ledger")
            .write(toFile: "\(definitions)/\(name)", atomically: true, encoding: .utf8)
    }

    /// `serve --store URL` on this host's spool, with a 3 s lease and quick rescans. `contained`
    /// runs it in a PID namespace of its own (as root), under a `sh` that is the namespace's
    /// init: `kill -9` of the runner then ends every task it started, like a container's crash.
    @discardableResult
    func start(
        _ url: StoreURL, lease: String = "3s", _ extra: [String] = [], contained: Bool = false,
        environment: [String: String] = [:]
    ) throws -> FleetRunner {
        let runner = try FleetRunner(
            contained: contained,
            arguments: [
                "serve", "--store", url.description, "--spool", spool, "--definitions", definitions, "--lease", lease,
                "--rescan", "100ms", "--runner-id", name, "--log-level", "debug",
            ] + extra, environment: environment, directory: root)
        self.runner = runner
        return runner
    }

    /// Drops a request the way a client should: write in tmp/, then rename into inbox/.
    func drop(_ id: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: spool + "/tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spool + "/inbox", withIntermediateDirectories: true)
        let temp = "\(spool)/tmp/\(id).json.\(UUID().uuidString)"
        try body.write(toFile: temp, atomically: false, encoding: .utf8)
        guard rename(temp, "\(spool)/inbox/\(id).json") == 0 else { throw POSIXError(.EIO) }
    }

    /// Drops a control message `control/<name>.json` (tmp/, then rename).
    func control(_ name: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: spool + "/control", withIntermediateDirectories: true)
        let temp = "\(spool)/tmp/\(name).json.\(UUID().uuidString)"
        try body.write(toFile: temp, atomically: false, encoding: .utf8)
        guard rename(temp, "\(spool)/control/\(name).json") == 0 else { throw POSIXError(.EIO) }
    }

    /// The `status` of `id`'s status file on this host, if it exists and reads.
    func status(_ id: String) -> String? {
        guard let data = FileManager.default.contents(atPath: "\(spool)/outbox/\(id).json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["status"] as? String
    }

    /// Every runner's log on this host so far (restarts included).
    var logs: String {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter {
            $0.hasPrefix("serve-")
        }
        return files.sorted().compactMap { try? String(contentsOfFile: "\(root)/\($0)", encoding: .utf8) }
            .joined(separator: "\n")
    }

    /// runner.json, parsed.
    func heartbeat() -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: "\(spool)/runner.json") else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}

/// A started `spoolrunner serve`, its output collected to files.
final class FleetRunner: @unchecked Sendable {
    let process = Process()
    let errorPath: String

    /// Whether the runner runs in a PID namespace of its own (see `FleetHost.start`).
    let contained: Bool

    init(contained: Bool = false, arguments: [String], environment: [String: String], directory: String) throws {
        self.contained = contained
        errorPath = directory + "/serve-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        if contained {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments =
                [
                    "--pid", "--fork", "--kill-child", "--mount-proc", "/bin/sh", "-c", #""$0" "$@"; exit $?"#,
                    FleetHost.binary,
                ]
                + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: FleetHost.binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle(forWritingAtPath: errorPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Signals the runner: SIGKILL of a contained one kills its whole namespace (the crash of a
    /// container); other signals go to the runner itself, inside.
    func kill(_ signal: Int32) {
        guard process.isRunning else { return }
        if contained, signal != SIGKILL {
            // unshare → sh (the namespace's init) → spoolrunner: the first descendant that runs
            // the binary (a shell may also have exec'd it).
            var queue = Self.children(of: process.processIdentifier)
            while !queue.isEmpty {
                let pid = queue.removeFirst()
                let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
                if exe.hasSuffix("/spoolrunner") {
                    Glibc.kill(pid, signal)
                    return
                }
                queue += Self.children(of: pid)
            }
        }
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Every process below the runner (its tasks and theirs), found through /proc.
    func descendants() -> [Int32] {
        var found: [Int32] = []
        var queue = Self.children(of: process.processIdentifier)
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            found.append(pid)
            queue += Self.children(of: pid)
        }
        return found
    }

    /// The children of every thread of `pid` (a runner spawns from several threads).
    static func children(of pid: Int32) -> [Int32] {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return threads.flatMap { thread in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Waits for the exit (a hung runner is killed after `timeout` seconds); returns the status.
    @discardableResult
    func wait(timeout: Double = 60) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// What it logged so far.
    var log: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// Whether `pid` runs (a zombie, dead but not reaped by its new parent, does not).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(end, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Polls `condition` until it holds or `timeout` seconds pass; returns whether it held (a
/// condition that throws does not hold).
func eventually(timeout: Double = 30, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return (try? await condition()) == true
}

/// The suites that run real fleets of `serve --store` runners, one suite at a time: several
/// fleets at once on a small machine would make their timings meaningless.
@Suite(.serialized) enum Fleet {}
