import Foundation
import Logging
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 part 3 and page 2: logfmt and JSON lines from the real binary, journal detection,
/// colour rules, millisecond timestamps, a quiet idle `--once`, and the second Ctrl-C.
@Suite(.endToEnd) struct LogFormatTests {
    static let definition = """
        tasks:
          - name: say
            shell: 'echo said'
          - name: boom
            shell: 'exit 3'
        """

    /// A small logfmt parser: `key=value` or `key="quoted \\" value"`, the inverse of the writer.
    static func parseLogfmt(_ line: String) -> [String: String]? {
        var fields: [String: String] = [:]
        var index = line.startIndex
        func skipSpaces() { while index < line.endIndex && line[index] == " " { index = line.index(after: index) } }
        skipSpaces()
        while index < line.endIndex {
            guard let equals = line[index...].firstIndex(of: "=") else { return nil }
            let key = String(line[index..<equals])
            guard !key.isEmpty, !key.contains(" ") else { return nil }
            index = line.index(after: equals)
            var value = ""
            if index < line.endIndex && line[index] == "\"" {
                index = line.index(after: index)
                var closed = false
                while index < line.endIndex {
                    let character = line[index]
                    index = line.index(after: index)
                    if character == "\"" {
                        closed = true
                        break
                    }
                    if character == "\\" && index < line.endIndex {
                        let escaped = line[index]
                        index = line.index(after: index)
                        switch escaped {
                        case "n": value.append("\n")
                        case "r": value.append("\r")
                        case "t": value.append("\t")
                        case "u":
                            let hex = line[index..<line.index(index, offsetBy: 4)]
                            value.unicodeScalars.append(Unicode.Scalar(UInt32(hex, radix: 16)!)!)
                            index = line.index(index, offsetBy: 4)
                        default: value.append(escaped)
                        }
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { return nil }
            } else {
                while index < line.endIndex && line[index] != " " {
                    value.append(line[index])
                    index = line.index(after: index)
                }
            }
            fields[key] = value
            skipSpaces()
        }
        return fields
    }

    static func spool() throws -> TemporarySpool {
        let spool = try TemporarySpool()
        try spool.define("pair.yaml", definition)
        try spool.drop("log1", #"{"process_type": "pair"}"#)
        return spool
    }

    static let millisecondStamp = #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"#

    @Test func logfmtLinesFromTheBinaryParseBack() async throws {
        let spool = try Self.spool()
        let result = try await spool.serveOnce(["--log-level", "debug"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardError.split(separator: "\n").map(String.init)
        #expect(lines.count >= 6, "\(result.standardError)")
        var taskLines = 0
        for line in lines {
            let fields = try #require(Self.parseLogfmt(line), "not logfmt: \(line)")
            #expect(fields["ts"]?.range(of: Self.millisecondStamp, options: .regularExpression) != nil, "\(line)")
            #expect(["debug", "info", "notice", "warning", "error"].contains(fields["level"] ?? ""), "\(line)")
            #expect(fields["msg"]?.isEmpty == false)
            if line.hasPrefix("ts=") { #expect(line.firstIndex(of: "\u{1B}") == nil, "no colour into a file") }
            if fields["task"] != nil {
                taskLines += 1
                #expect(fields["process_id"] == "log1", "\(line)")
            }
        }
        let failed = lines.compactMap(Self.parseLogfmt).first { $0["msg"] == "task_failed" }
        #expect(failed?["task"] == "boom")
        #expect(failed?["level"] == "warning")
        #expect(taskLines >= 4, "\(result.standardError)")
    }

    @Test func jsonLinesFromTheBinaryParseBack() async throws {
        let spool = try Self.spool()
        let result = try await spool.serveOnce(["--log-format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardError.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
            #expect(object["ts"]?.range(of: Self.millisecondStamp, options: .regularExpression) != nil, "\(line)")
            #expect(object["level"] != nil && object["msg"] != nil)
            #expect(line.hasPrefix(#"{"ts":"#), "stable key order: \(line)")
            if object["task"] != nil { #expect(object["process_id"] == "log1") }
        }
        #expect(lines.contains { $0.contains(#""msg":"task_succeeded""#) && $0.contains(#""task":"say""#) })
    }

    @Test(arguments: [
        "plain", "with space", #"with "quotes""#, "a=b", "line1\nline2", "tab\there", "", "back\\slash", "ctl\u{1}x",
    ])
    func logfmtValuesRoundTrip(value: String) throws {
        let event = LogEvent(
            level: .info, message: "message \(value)", metadata: ["task.name": .string(value), "process.id": "p1"],
            source: "test", file: #fileID, function: #function, line: #line)
        let record = LogRecord(event: event, handlerMetadata: [:], timestamp: true)
        let line = LogfmtLogHandler.render(record, journal: false, color: false)
        #expect(!line.contains("\n"), "one line: \(line)")
        let fields = try #require(Self.parseLogfmt(line), "\(line)")
        #expect(fields["task"] == value)
        #expect(fields["msg"] == "message \(value)")
        #expect(fields["process_id"] == "p1")
        let json = JSONLogHandler.render(record, journal: false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(object["task"] == value)
    }

    /// Runs `serve --once` with stderr redirected to `file` by a shell, so the test knows the
    /// device and inode behind the runner's fd 2 before it starts.
    static func serveOnceToFile(_ spool: TemporarySpool, environment: [String: String]) async throws -> (
        CommandResult, String
    ) {
        let file = spool.root.appendingPathComponent("stderr.log").path
        // Kept when it exists: its inode may be what JOURNAL_STREAM names.
        if !FileManager.default.fileExists(atPath: file) {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
        }
        let command =
            "exec '\(TemporarySpool.binary)' serve --once --spool '\(spool.layout.root)' --definitions '\(spool.definitions.path)' 2>>'\(file)'"
        let result = try await Shell.run("/bin/sh", ["-c", command], environment: environment)
        return (result, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }

    @Test func journalStreamGetsPriorityPrefixesAndNoTimestamp() async throws {
        let spool = try Self.spool()
        let file = spool.root.appendingPathComponent("stderr.log").path
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        var info = stat()
        #expect(stat(file, &info) == 0)
        let (result, output) = try await Self.serveOnceToFile(
            spool, environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = output.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.range(of: #"^<[2-7]>level="#, options: .regularExpression) != nil, "\(line)")
            #expect(!line.contains("ts="), "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("<6>level=info msg=task_succeeded") })
        #expect(lines.contains { $0.hasPrefix("<4>level=warning msg=task_failed") })

        // Another file's dev:ino: not the journal, no prefix.
        let other = try Self.spool()
        let (_, plain) = try await Self.serveOnceToFile(
            other, environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"])
        for line in plain.split(separator: "\n") {
            #expect(line.hasPrefix("ts="), "\(line)")
        }
    }

    @Test func colourOnlyOnATerminalWithoutNoColor() async throws {
        guard let script = RequiredTool.find("script", installHint: "apt-get install bsdutils") else { return }
        func underTerminal(_ environment: [String: String]) async throws -> String {
            let spool = try Self.spool()
            let command =
                "'\(TemporarySpool.binary)' serve --once --spool '\(spool.layout.root)' --definitions '\(spool.definitions.path)'"
            return try await Shell.run(script, ["-qec", command, "/dev/null"], environment: environment).standardOutput
        }
        let coloured = try await underTerminal(["TERM": "xterm", "NO_COLOR": ""])
        #expect(coloured.contains("\u{1B}["), "a terminal gets colour: \(coloured)")
        #expect(await !(try underTerminal(["TERM": "xterm", "NO_COLOR": "1"])).contains("\u{1B}"))
        #expect(await !(try underTerminal(["TERM": "dumb"])).contains("\u{1B}"))
        // Not a terminal (the harness writes to a file): never.
        let spool = try Self.spool()
        let piped = try await spool.serveOnce(environment: ["TERM": "xterm"])
        #expect(!piped.standardError.contains("\u{1B}"))
    }

    @Test func idleServeOnceIsQuiet() async throws {
        let spool = try TemporarySpool()
        try spool.define("pair.yaml", Self.definition)
        for _ in 0..<2 {
            let result = try await spool.serveOnce()
            #expect(result.status == 0)
            #expect(result.standardError.isEmpty, "an idle --once from cron prints nothing: \(result.standardError)")
        }
        let verbose = try await spool.serveOnce(["--log-level", "debug"])
        #expect(verbose.standardError.contains("msg=\"runner started\""), "\(verbose.standardError)")
    }

    @Test func logLevelComesFromTheEnvironment() async throws {
        let spool = try Self.spool()
        let result = try await spool.serveOnce(environment: ["SPOOLRUNNER_LOG_LEVEL": "warning"])
        let levels = Set(
            result.standardError.split(separator: "\n").compactMap { Self.parseLogfmt(String($0))?["level"] })
        #expect(levels == ["warning"], "\(result.standardError)")
        let bad = try await spool.serveOnce(environment: ["SPOOLRUNNER_LOG_LEVEL": "chatty"])
        #expect(bad.status == 64)
        #expect(bad.standardError.contains("SPOOLRUNNER_LOG_LEVEL"))
    }

    @Test func secondInterruptStopsAtOnce() async throws {
        let spool = try TemporarySpool()
        try spool.define("long.yaml", "tasks:\n  - name: nap\n    run: [\"/bin/sleep\", \"120\"]\n")
        let runner = try spool.start(["serve", "--rescan", "100ms", "--grace", "120s"])
        try spool.drop("long1", #"{"process_type": "long"}"#)
        #expect(await spool.eventually { spool.status("long1")?.tasks.first?.status == .running })
        let started = Date()
        runner.signal(SIGINT)
        let log = runner.errorPath
        #expect(
            await spool.eventually {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("shutdown requested")
            })
        // Still waiting for the task after the first one.
        try await Task.sleep(for: .milliseconds(300))
        #expect(runner.process.isRunning)
        runner.signal(SIGINT)
        let result = await runner.wait(timeout: 60)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Date().timeIntervalSince(started) < 60, "the second Ctrl-C did not wait out the 120 s grace")
        #expect(result.standardError.contains("stopping 1 running task(s) now"), "\(result.standardError)")
        // The task is resumed by the next start, as after the end of the grace.
        #expect(spool.status("long1")?.status == .running)
    }
}
