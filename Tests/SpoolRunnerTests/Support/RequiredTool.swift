import Foundation
import Testing

/// A program a test needs from the machine (zsh, fish, groff, python3 with a module, …).
///
/// Missing, the test prints one line saying why it skips; with `SPOOLRUNNER_REQUIRE_ALL=1` (CI)
/// the missing tool is a failure instead, so CI never passes by skipping.
enum RequiredTool {
    /// The tool's path, or nil when it is missing (after the skip line or the failure).
    static func find(_ name: String, installHint: String, sourceLocation: SourceLocation = #_sourceLocation) -> String?
    {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        missing("\(name) is not installed (\(installHint))", sourceLocation: sourceLocation)
        return nil
    }

    /// Whether `python3 -c "import MODULE"` works; otherwise the same skip-or-fail as `find`.
    static func pythonModule(_ module: String, installHint: String, sourceLocation: SourceLocation = #_sourceLocation)
        -> Bool
    {
        guard let python = find("python3", installHint: "apt-get install python3", sourceLocation: sourceLocation)
        else { return false }
        if let result = try? Shell.run(python, ["-c", "import \(module)"]), result.status == 0 { return true }
        missing("python module \(module) is missing (\(installHint))", sourceLocation: sourceLocation)
        return false
    }

    static func missing(_ why: String, sourceLocation: SourceLocation) {
        if ProcessInfo.processInfo.environment["SPOOLRUNNER_REQUIRE_ALL"] == "1" {
            Issue.record("\(why); SPOOLRUNNER_REQUIRE_ALL=1 makes this a failure", sourceLocation: sourceLocation)
        } else {
            print("skipped: \(why)")
        }
    }
}

/// Runs any program (not the spoolrunner binary) and collects its output through files.
enum Shell {
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        directory: String? = nil, input: String? = nil, timeout: Double = 120
    ) throws -> CommandResult {
        let process = Process()
        let out = NSTemporaryDirectory() + "shell-out-\(UUID().uuidString)"
        let err = NSTemporaryDirectory() + "shell-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        if let input {
            let path = NSTemporaryDirectory() + "shell-in-\(UUID().uuidString)"
            _ = FileManager.default.createFile(atPath: path, contents: Data(input.utf8))
            process.standardInput = FileHandle(forReadingAtPath: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            try process.run()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}
