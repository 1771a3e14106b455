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
        async -> Bool
    {
        guard let python = find("python3", installHint: "apt-get install python3", sourceLocation: sourceLocation)
        else { return false }
        if let result = try? await Shell.run(python, ["-c", "import \(module)"]), result.status == 0 { return true }
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
    ) async throws -> CommandResult {
        try await RunningCommand(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            input: input
        ).wait(timeout: timeout)
    }
}
