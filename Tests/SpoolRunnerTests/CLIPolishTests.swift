import Foundation
import Testing

@testable import SpoolRunner

/// Issue 11 part 1: exit statuses of the parser, help and version, `help NAME`, help text that
/// is wrapped once (by the parser), shell completions with real values, man pages and the
/// dump-help snapshot.
@Suite(.endToEnd) struct CLIPolishTests {
    static func spoolrunner(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await Shell.run(TemporarySpool.binary, arguments, environment: environment)
    }

    /// Every subcommand the binary has (from its own dump-help), so that commands added later
    /// are held to the same rules.
    static func subcommands() async -> [String] {
        guard let result = try? await spoolrunner(["--experimental-dump-help"]),
            let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any],
            let command = object["command"] as? [String: Any],
            let children = command["subcommands"] as? [[String: Any]]
        else { return [] }
        return children.compactMap { $0["commandName"] as? String }.filter { $0 != "help" }
    }

    @Test func theSubcommandsAreKnown() async {
        let subcommands = await Self.subcommands()
        for name in [
            "serve", "submit", "status", "history", "events", "cancel", "retry", "validate", "init", "prune",
            "rejections", "schema",
        ] {
            #expect(subcommands.contains(name), "\(subcommands)")
        }
    }

    @Test(arguments: [
        (["status"], "Missing expected argument"),
        (["status", "x", "--nosuch"], "Unknown option"),
        (["serve", "--max-tasks", "many"], "many"),
        (["serve", "--log-format", "xml"], "xml"),
        (["serve", "--log-level", "loud"], "loud"),
        (["history", "--limit", "0"], "--limit"),
        (["nosuch"], "nosuch"),
        (["help", "nosuch"], "no such command 'nosuch'"),
        (["help", "status", "nosuch"], "no such command 'nosuch' under 'status'"),
        (["status", "x", "--db", "/nonexistent"], "Unknown option '--db'"),
        // The inputs array takes what follows: the error names the stray value.
        (["submit", "t", "--db", "/nonexistent"], "'/nonexistent' is not NAME=VALUE"),
    ])
    func usageErrorsExit64OnStandardError(arguments: [String], message: String) async throws {
        let result = try await Self.spoolrunner(arguments)
        #expect(result.status == 64, "\(arguments): \(result.standardError)")
        #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        #expect(result.standardOutput.isEmpty, "\(arguments): \(result.standardOutput)")
    }

    @Test func helpAndVersionExit0OnStandardOutput() async throws {
        let version = try await Self.spoolrunner(["--version"])
        #expect(version.status == 0)
        #expect(version.standardOutput == Version.current + "\n")
        let subcommands = await Self.subcommands()
        for arguments in [["--help"], ["help"], ["help", "submit"], ["submit", "--help"]]
            + subcommands.map({ [$0, "--help"] })
        {
            let help = try await Self.spoolrunner(arguments)
            #expect(help.status == 0, "\(arguments): \(help.standardError)")
            #expect(help.standardOutput.contains("USAGE: spoolrunner"), "\(arguments)")
            #expect(help.standardError.isEmpty, "\(arguments): \(help.standardError)")
        }
        let root = try await Self.spoolrunner(["--help"]).standardOutput
        for section in [
            "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SPOOLRUNNER_SPOOL", "SPOOLRUNNER_DEFINITIONS",
            "NO_COLOR", "75   another runner",
        ] {
            #expect(root.contains(section), "root help lacks \(section)")
        }
    }

    /// The parser wraps help text to the terminal (80 columns when piped). A paragraph wrapped by
    /// hand as well comes out ragged; here every paragraph must equal its own greedy re-wrap.
    @Test func helpParagraphsAreWrappedOnceByTheParser() async throws {
        let subcommands = await Self.subcommands()
        for arguments in [["--help"]] + subcommands.map({ [$0, "--help"] }) {
            let help = try await Self.spoolrunner(arguments).standardOutput
            var paragraph: [String] = []
            func check() {
                defer { paragraph.removeAll() }
                guard paragraph.count > 1 else { return }
                let words = paragraph.joined(separator: " ").split(separator: " ").map(String.init)
                var lines: [String] = []
                var line = ""
                for word in words {
                    if line.isEmpty {
                        line = word
                    } else if line.count + 1 + word.count < 80 {
                        line += " " + word
                    } else {
                        lines.append(line)
                        line = word
                    }
                }
                lines.append(line)
                #expect(lines == paragraph, "\(arguments): ragged paragraph:\n\(paragraph.joined(separator: "\n"))")
            }
            // Only the discussion's prose: unindented lines before the USAGE line.
            for line in help.components(separatedBy: "\n").prefix(while: { !$0.hasPrefix("USAGE:") }) {
                if line.isEmpty || line.hasPrefix(" ") || line.hasPrefix("OVERVIEW:") || line == line.uppercased() {
                    check()
                } else {
                    paragraph.append(line)
                }
            }
            check()
        }
    }

    // MARK: - Completions

    static func completionScript(_ shell: String) async throws -> String {
        let result = try await spoolrunner(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput
    }

    /// Runs the generated bash completion for the words typed so far (the last one is being
    /// completed) and returns COMPREPLY.
    static func bashComplete(_ words: [String], environment: [String: String] = [:]) async throws -> [String]? {
        guard let bash = RequiredTool.find("bash", installHint: "apt-get install bash") else { return nil }
        let script = NSTemporaryDirectory() + "spoolrunner-completion-\(UUID().uuidString).bash"
        try await completionScript("bash").write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let quoted = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let driver = """
            source \(script)
            COMP_WORDS=(\(quoted))
            COMP_CWORD=\(words.count - 1)
            COMP_LINE="${COMP_WORDS[*]}"
            COMP_POINT=${#COMP_LINE}
            _spoolrunner
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let bin = URL(fileURLWithPath: TemporarySpool.binary).deletingLastPathComponent().path
        var env = environment
        env["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try await Shell.run(bash, ["-c", driver], environment: env)
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").map(String.init).sorted()
    }

    @Test func bashCompletesProcessIDsFromTheTypedSpool() async throws {
        let spool = try TemporarySpool()
        for id in ["proc_aaaaaaaaaaaa", "proc_bbbbbbbbbbbb", "nightly-20260101T0300"] {
            _ = FileManager.default.createFile(atPath: spool.layout.statusFile(id), contents: Data("{}".utf8))
        }
        // A temp file of the status writer is not an id.
        _ = FileManager.default.createFile(atPath: spool.layout.outbox + "/.proc_cccccccccccc.json.tmp", contents: nil)
        for command in ["status", "events", "cancel", "retry"] {
            guard let all = try await Self.bashComplete(["spoolrunner", command, "--spool", spool.layout.root, ""])
            else {
                return
            }
            #expect(all == ["nightly-20260101T0300", "proc_aaaaaaaaaaaa", "proc_bbbbbbbbbbbb"], "\(command): \(all)")
        }
        let prefixed = try await Self.bashComplete(["spoolrunner", "status", "--spool", spool.layout.root, "proc_a"])
        #expect(prefixed == ["proc_aaaaaaaaaaaa"])
        // From the environment when --spool is not typed.
        let fromEnvironment = try await Self.bashComplete(
            ["spoolrunner", "status", "n"], environment: ["SPOOLRUNNER_SPOOL": spool.layout.root])
        #expect(fromEnvironment == ["nightly-20260101T0300"])
    }

    @Test func bashCompletesProcessTypesFromTheDefinitions() async throws {
        let spool = try TemporarySpool()
        try spool.define("alpha.yaml", "tasks: [{name: a, sleep: 1ms}]\n")
        try spool.define("beta.yml", "tasks: [{name: b, sleep: 1ms}]\n")
        try spool.define("notes.txt", "not a definition\n")
        let types = try await Self.bashComplete(["spoolrunner", "submit", "--definitions", spool.definitions.path, ""])
        #expect(types == ["alpha", "beta"])
    }

    @Test func zshAndFishScriptsParse() async throws {
        for (shell, hint) in [("zsh", "apt-get install zsh"), ("fish", "apt-get install fish")] {
            guard let path = RequiredTool.find(shell, installHint: hint) else { continue }
            let script = NSTemporaryDirectory() + "spoolrunner-completion-\(UUID().uuidString).\(shell)"
            try await Self.completionScript(shell).write(toFile: script, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: script) }
            let result = try await Shell.run(path, ["-n", script])
            #expect(result.status == 0, "\(shell) -n: \(result.standardError)")
        }
    }

    @Test func committedCompletionScriptsEqualTheBinarys() async throws {
        for (shell, file) in [("bash", "spoolrunner.bash"), ("zsh", "_spoolrunner"), ("fish", "spoolrunner.fish")] {
            let committed = try String(contentsOfFile: Repository.path("contrib/completions/\(file)"), encoding: .utf8)
            #expect(
                committed == (try await Self.completionScript(shell)),
                "contrib/completions/\(file) is out of date: run scripts/gen-docs.sh and commit the result")
        }
    }

    // MARK: - Man pages and the dump-help snapshot

    @Test func dumpHelpSnapshotEqualsTheBinarys() async throws {
        let result = try await Self.spoolrunner(["--experimental-dump-help"])
        #expect(result.status == 0)
        let committed = try String(
            contentsOfFile: Repository.path("docs/man/spoolrunner.dump-help.json"), encoding: .utf8)
        #expect(
            committed == result.standardOutput,
            "docs/man/spoolrunner.dump-help.json differs from `spoolrunner --experimental-dump-help`: the CLI changed; run scripts/gen-docs.sh and commit docs/man and contrib/completions"
        )
    }

    @Test func everyManPagePassesGroffWithoutWarnings() async throws {
        guard let groff = RequiredTool.find("groff", installHint: "apt-get install groff") else { return }
        let pages = try FileManager.default.contentsOfDirectory(atPath: Repository.path("docs/man"))
            .filter { $0.range(of: #"\.[1-8]$"#, options: .regularExpression) != nil }.sorted()
        #expect(pages.contains("spoolrunner.1"))
        #expect(pages.contains("spoolrunner.5"))
        for subcommand in await Self.subcommands() {
            #expect(
                pages.contains("spoolrunner.\(subcommand).1"), "no man page for \(subcommand): run scripts/gen-docs.sh")
        }
        for page in pages {
            let result = try await Shell.run(groff, ["-mandoc", "-ww", "-z", Repository.path("docs/man/\(page)")])
            #expect(result.status == 0 && result.standardError.isEmpty, "\(page): \(result.standardError)")
        }
    }
}
