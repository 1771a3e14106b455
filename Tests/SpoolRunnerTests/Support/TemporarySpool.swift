import Foundation
import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away spool and definitions directory, and the real `spoolrunner` binary to run on it.
///
/// End-to-end tests use it the way a user would: write definition files, drop request files,
/// run `spoolrunner serve`, read status files and SQLite.
final class TemporarySpool: @unchecked Sendable {
    let root: URL
    let layout: SpoolLayout
    let definitions: URL

    init() throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "spoolrunner-test-\(UUID().uuidString.prefix(8))")
        layout = SpoolLayout(root: root.appendingPathComponent("spool").path)
        definitions = root.appendingPathComponent("definitions")
        try FileManager.default.createDirectory(at: definitions, withIntermediateDirectories: true)
        try layout.create()
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
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

    /// Writes `definitions/<name>` (a YAML text).
    func define(_ name: String, _ yaml: String) throws {
        try yaml.write(to: definitions.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Writes an executable script into `definitions/scripts/`.
    func script(_ name: String, _ body: String) throws {
        let directory = definitions.appendingPathComponent("scripts")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// Drops a request the way a client should: write in tmp/, then rename into inbox/.
    func drop(_ id: String, _ body: String) throws {
        let temp = "\(layout.tmp)/\(id).json.\(UUID().uuidString)"
        try body.write(toFile: temp, atomically: false, encoding: .utf8)
        guard rename(temp, "\(layout.inbox)/\(id).json") == 0 else { throw POSIXError(.EIO) }
    }

    /// Runs the binary with `arguments` (the spool and definitions options are added) and waits.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], spoolOptions: Bool = true) async throws
        -> CommandResult
    {
        let process = try start(arguments, environment: environment, spoolOptions: spoolOptions)
        return await process.wait()
    }

    /// Starts the binary without waiting (for `serve` without `--once`, signals, kill -9).
    func start(_ arguments: [String], environment: [String: String] = [:], spoolOptions: Bool = true) throws
        -> RunningCommand
    {
        var arguments = arguments
        if spoolOptions {
            if arguments.first != "validate" { arguments += ["--spool", layout.root] }
            if ["serve", "submit", "validate", "schedules"].contains(arguments.first ?? "") {
                arguments += ["--definitions", definitions.path]
            }
        }
        return try RunningCommand(
            executable: Self.binary, arguments: arguments, environment: environment, directory: root.path)
    }

    /// The status document of `id`, if its file exists and reads as one (tests poll this while
    /// the runner works, and assert on what it returns).
    func status(_ id: String) -> StatusDocument? {
        try? StatusWriter(layout: layout).read(processID: id)
    }

    func inboxFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout.inbox)) ?? []).filter { $0 != ".gitkeep" }
            .sorted()
    }

    func rejectedFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout.rejected)) ?? []).filter { $0 != ".gitkeep" }
            .sorted()
    }

    /// Waits until `condition` holds or `timeout` passes; returns whether it held.
    ///
    /// It polls by suspending (`Task.sleep`), never by blocking a thread: every suite shares one
    /// cooperative pool as wide as the cores (see `ChildExit`).
    func eventually(timeout: Double = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }
}
