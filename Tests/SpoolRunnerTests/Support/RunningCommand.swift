import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A started program (the `spoolrunner` binary, or any tool a test runs), its output collected
/// to files (no pipe can fill up).
///
/// Waiting suspends the test (see `ChildExit`): a test never blocks a thread of the shared pool.
final class RunningCommand: @unchecked Sendable {
    let process = Process()
    let outputPath: String
    let errorPath: String
    private let exit = ChildExit()

    /// Starts `executable`. `SPOOLRUNNER_CRASH_AT` is never inherited; `input`, when given, is
    /// the standard input (otherwise /dev/null).
    init(
        executable: String, arguments: [String], environment: [String: String], directory: String?,
        input: String? = nil
    ) throws {
        outputPath = NSTemporaryDirectory() + "spoolrunner-out-\(UUID().uuidString)"
        errorPath = NSTemporaryDirectory() + "spoolrunner-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SPOOLRUNNER_CRASH_AT")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        let exit = self.exit
        process.terminationHandler = { _ in exit.exited() }
        if let input {
            let inputPath = NSTemporaryDirectory() + "spoolrunner-in-\(UUID().uuidString)"
            _ = FileManager.default.createFile(atPath: inputPath, contents: Data(input.utf8))
            defer { try? FileManager.default.removeItem(atPath: inputPath) }
            process.standardInput = FileHandle(forReadingAtPath: inputPath)
            try process.run()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// Whether the program has exited (its termination handler ran).
    var hasExited: Bool { exit.hasExited }

    /// Signals the command if it still runs: once it has exited and been reaped, its pid may
    /// already belong to another process (pid_max is 32768 here).
    func signal(_ signal: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
    }

    /// Waits for the end (bounded: a hung program is killed after `timeout` seconds).
    func wait(timeout: Double = 120) async -> CommandResult {
        if await !exit.wait(timeout: timeout) {
            signal(SIGKILL)
            await exit.wait()
        }
        // Foundation marks the process finished just before it calls the termination handler;
        // this only covers the instant between the two (or a cancelled wait).
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
        return CommandResult(status: process.terminationStatus, standardOutput: output, standardError: error)
    }

    /// Runs `body` while the command runs, then sends it `signal` (when it still runs) and waits
    /// for its exit, also when `body` throws; returns how it exited.
    ///
    /// What `defer { runner.signal(SIGTERM); _ = runner.wait() }` did in a synchronous test: an
    /// async test cannot await in `defer`.
    @discardableResult
    func stopping(with signal: Int32, timeout: Double = 120, after body: () async throws -> Void) async rethrows
        -> CommandResult
    {
        do {
            try await body()
        } catch {
            self.signal(signal)
            _ = await wait(timeout: timeout)
            throw error
        }
        self.signal(signal)
        return await wait(timeout: timeout)
    }
}
