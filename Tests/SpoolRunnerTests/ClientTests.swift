import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 part 6: the client snippets in five languages against a real runner, and the README
/// blocks equal to the files.
@Suite(.endToEnd) struct ClientTests {
    struct Client: Sendable, CustomTestStringConvertible {
        var file: String
        var language: String
        var tool: String
        var hint: String
        var testDescription: String { file }

        /// argv to run the client with `arguments`.
        func command(_ path: String, _ arguments: [String]) -> (String, [String])? {
            guard let executable = RequiredTool.find(tool, installHint: hint) else { return nil }
            if tool == "go" { return (executable, ["run", path] + arguments) }
            if tool == "jq" { return ("/bin/sh", [path] + arguments) }
            return (executable, [path] + arguments)
        }
    }

    static let clients = [
        Client(file: "submit.py", language: "python", tool: "python3", hint: "apt-get install python3"),
        Client(file: "submit.js", language: "js", tool: "node", hint: "apt-get install nodejs"),
        Client(file: "submit.go", language: "go", tool: "go", hint: "apt-get install golang-go"),
        Client(file: "submit.rb", language: "ruby", tool: "ruby", hint: "apt-get install ruby"),
        Client(file: "submit.sh", language: "sh", tool: "jq", hint: "apt-get install jq"),
    ]

    /// A spool served with the shipped definitions (premium_subscription and its scripts).
    static func servedSpool() throws -> (TemporarySpool, RunningCommand) {
        let spool = try TemporarySpool()
        try FileManager.default.removeItem(at: spool.definitions)
        try FileManager.default.copyItem(atPath: Repository.path("definitions"), toPath: spool.definitions.path)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        return (spool, runner)
    }

    @Test(arguments: clients)
    func clientSubmitsAndWaits(client: Client) async throws {
        let path = Repository.path("examples/clients/\(client.file)")
        guard let (executable, arguments) = client.command(path, []) else { return }
        let (spool, runner) = try Self.servedSpool()
        try await runner.stopping(with: SIGTERM, timeout: 30) {
            let environment = ["GOCACHE": NSTemporaryDirectory() + "spoolrunner-go-cache", "GOFLAGS": "-mod=mod"]
            let ok = try await Shell.run(
                executable, arguments + [spool.layout.root, "premium_subscription", "user_id=user_123"],
                environment: environment, timeout: 180)
            #expect(ok.status == 0, "\(client.file): \(ok.standardOutput)\(ok.standardError)")
            let words = ok.standardOutput.split(separator: " ").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(words.count == 2 && words[1] == "success", "\(client.file): \(ok.standardOutput)")
            let id = words.first ?? ""
            #expect(id.range(of: "^proc_[0-9a-f]{12}$", options: .regularExpression) != nil, "\(id)")
            #expect(spool.status(id)?.status == .success)
            #expect(
                ((try? FileManager.default.contentsOfDirectory(atPath: spool.layout.tmp)) ?? []).filter {
                    $0 != ".gitkeep"
                }
                .isEmpty)
            // validate_user fails this one: a non-zero exit.
            let bad = try await Shell.run(
                executable, arguments + [spool.layout.root, "premium_subscription", "user_id=nobody"],
                environment: environment, timeout: 180)
            #expect(bad.status == 1, "\(client.file): \(bad.standardOutput)\(bad.standardError)")
            #expect(bad.standardOutput.hasSuffix(" failed\n"), "\(client.file): \(bad.standardOutput)")
        }
    }

    @Test(arguments: clients)
    func readmeBlockEqualsTheFile(client: Client) throws {
        let readme = try String(contentsOfFile: Repository.path("README.md"), encoding: .utf8)
        let file = try String(contentsOfFile: Repository.path("examples/clients/\(client.file)"), encoding: .utf8)
        let marker = "<!-- examples/clients/\(client.file) -->\n```\(client.language)\n"
        let start = try #require(readme.range(of: marker), "README has no block for \(client.file)")
        let end = try #require(readme.range(of: "\n```\n", range: start.upperBound..<readme.endIndex))
        #expect(
            String(readme[start.upperBound..<end.lowerBound]) + "\n" == file,
            "README block of \(client.file) differs from the file")
    }
}
