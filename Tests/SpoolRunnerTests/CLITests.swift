import Foundation
import Testing

@testable import SpoolRunner

/// SPEC §8, each subcommand as a user runs it: submit, status, history, events, validate, init,
/// and the lock that keeps a second `serve` off a spool.
@Suite(.endToEnd) struct CLITests {
    static let greet = """
        inputs:
          user_id: {type: string, required: true}
          count: {type: integer, default: 1}
        tasks:
          - name: hello
            shell: 'echo "{\\"greeted\\": \\"$SPOOL_INPUT_USER_ID\\"}"'
          - name: bye
            sleep: 10ms
        """
    static let fail = """
        tasks:
          - name: boom
            shell: 'exit 5'
        """

    static func spool() throws -> TemporarySpool {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", greet)
        try spool.define("fail.yaml", fail)
        return spool
    }

    static func command(_ spool: TemporarySpool, _ arguments: [String], timeout: Double = 30) async throws
        -> CommandResult
    {
        try await spool.start(arguments).wait(timeout: timeout)
    }

    static func isGeneratedID(_ id: String) -> Bool {
        id.count == 17 && id.hasPrefix("proc_") && id.dropFirst(5).allSatisfy { "0123456789abcdef".contains($0) }
    }

    // MARK: - submit, serve --once, status

    @Test func submitServeOnceThenStatus() async throws {
        let spool = try Self.spool()
        let submitted = try await Self.command(spool, ["submit", "greet", "user_id=user_7", "count=3"])
        #expect(submitted.status == 0, "\(submitted.standardError)")
        let id = submitted.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.isGeneratedID(id), "\(id)")
        #expect(spool.inboxFiles() == ["\(id).json"])
        let tmp = try FileManager.default.contentsOfDirectory(atPath: spool.layout.tmp).filter { $0 != ".gitkeep" }
        #expect(tmp.isEmpty, "\(tmp)")
        let request = try #require(TemporarySpool.jsonObject(atPath: "\(spool.layout.inbox)/\(id).json"))
        #expect(request["process_type"] as? String == "greet")
        #expect(request["user_id"] as? String == "user_7")
        #expect(request["count"] as? Int == 3, "typed by the definition: \(String(describing: request["count"]))")

        let served = try await spool.serveOnce()
        #expect(served.status == 0, "\(served.standardError)")
        #expect(spool.status(id)?.status == .success)

        let human = try await Self.command(spool, ["status", id])
        #expect(human.status == 0, "\(human.standardError)")
        let lines = human.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains(id) == true)
        #expect(lines.first?.contains("greet") == true)
        #expect(human.standardOutput.contains("SUCCESS") || human.standardOutput.contains("success"))
        for task in ["hello", "bye"] {
            let line = try #require(
                lines.first { $0.contains(task) }, "no line for \(task) in:\n\(human.standardOutput)")
            #expect(line.contains("success"))
            let status = try #require(spool.status(id))
            #expect(line.contains(try status.task(task).startedAt ?? "?"), "no start time in: \(line)")
        }

        let json = try await Self.command(spool, ["status", id, "--json"])
        #expect(json.status == 0)
        #expect(Data(json.standardOutput.utf8) == spool.statusBytes(id))
        let parsed = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        #expect(parsed?["status"] as? String == "success")
        #expect((parsed?["tasks"] as? [[String: Any]])?.first?["output"] as? [String: String] == ["greeted": "user_7"])

        let missing = try await Self.command(spool, ["status", "no_such_process"])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("no_such_process"))
    }

    @Test func submitOptions() async throws {
        let spool = try Self.spool()
        let withID = try await Self.command(spool, ["submit", "greet", "user_id=u", "--id", "order-42"])
        #expect(withID.status == 0, "\(withID.standardError)")
        #expect(withID.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "order-42")

        let file = spool.root.appendingPathComponent("inputs.json").path
        try #"{"user_id": "from_file", "count": 9}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let fromJSON = try await Self.command(spool, ["submit", "greet", "--json", file, "--id", "from-json"])
        #expect(fromJSON.status == 0, "\(fromJSON.standardError)")
        let rawJSON = try await Self.command(spool, ["submit", "greet", "user_id=raw", "count:=4", "--id", "raw-json"])
        #expect(rawJSON.status == 0, "\(rawJSON.standardError)")

        #expect(try await Self.command(spool, ["submit", "greet", "user_id=u", "--id", "bad id"]).status == 64)
        #expect(try await Self.command(spool, ["submit", "greet", "not-a-pair"]).status == 64)
        // The id is taken while its request waits in the inbox: refused, not replaced.
        let again = try await Self.command(spool, ["submit", "greet", "user_id=other", "--id", "order-42"])
        #expect(again.status != 0)

        #expect(try await spool.serveOnce().status == 0)
        #expect(spool.status("order-42")?.inputs?["user_id"] == .string("u"))
        #expect(spool.status("from-json")?.inputs == ["user_id": .string("from_file"), "count": .integer(9)])
        #expect(spool.status("raw-json")?.inputs?["count"] == .integer(4))
    }

    @Test func humanStatusShowsTheError() async throws {
        let spool = try Self.spool()
        try spool.drop("f1", #"{"process_type": "fail"}"#)
        #expect(try await spool.serveOnce().status == 0)
        let human = try await Self.command(spool, ["status", "f1"])
        #expect(human.status == 0)
        #expect(human.standardOutput.contains("FAILED") || human.standardOutput.contains("failed"))
        #expect(human.standardOutput.contains("exit_status"))
        #expect(human.standardOutput.contains("boom"))
    }

    // MARK: - submit --wait against a running serve

    @Test func submitWaitFollowsARunningServe() async throws {
        let spool = try Self.spool()
        try spool.define(
            "slow.yaml",
            """
            tasks:
              - name: nap
                sleep: 3s
            """)
        let runner = try spool.start(["serve", "--rescan", "200ms", "--grace", "10s"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {

            let ok = try await Self.command(spool, ["submit", "greet", "user_id=user_1", "--wait"])
            #expect(ok.status == 0, "\(ok.standardError)")
            let okID = ok.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(spool.status(okID)?.status == .success)

            let failed = try await Self.command(spool, ["submit", "fail", "--wait"])
            #expect(failed.status == 1, "\(failed.standardError)")
            #expect(failed.standardError.contains("exit_status"))
            let failedID = failed.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(spool.status(failedID)?.status == .failed)

            // submit checks the request against the definitions first: nothing is dropped.
            let rejected = try await Self.command(spool, ["submit", "greet", "--wait"])
            #expect(
                rejected.status == 65, "a request the runner would reject is not dropped: \(rejected.standardError)")
            #expect(
                rejected.standardError.contains("invalid_inputs: missing required input 'user_id'"),
                "\(rejected.standardError)")

            let gaveUp = try await Self.command(spool, ["submit", "slow", "--wait", "--timeout", "200ms"])
            #expect(gaveUp.status == 124, "\(gaveUp.standardError)")
            let slowID = gaveUp.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(
                await spool.eventually(timeout: 10) { [.running, .success].contains(spool.status(slowID)?.status) })

            // SIGTERM: running tasks finish within --grace, then the runner exits 0.
            runner.signal(SIGTERM)
            let stopped = await runner.wait(timeout: 30)
            #expect(stopped.status == 0, "\(stopped.standardError)")
            #expect(spool.status(slowID)?.status == .success)
            #expect(try spool.integrityCheck() == "ok")
        }
    }

    // MARK: - history, events

    @Test func historyFilters() async throws {
        let spool = try Self.spool()
        try spool.drop("g1", #"{"process_type": "greet", "user_id": "a"}"#)
        try spool.drop("f1", #"{"process_type": "fail"}"#)
        #expect(try await spool.serveOnce().status == 0)
        try spool.drop("g2", #"{"process_type": "greet", "user_id": "b"}"#)
        #expect(try await spool.serveOnce().status == 0)

        func rows(_ arguments: [String]) async throws -> [[String: Any]] {
            let result = try await Self.command(spool, ["history", "--json"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
            return try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]],
                "\(result.standardOutput)")
        }
        func ids(_ arguments: [String]) async throws -> [String] {
            try await rows(arguments).compactMap { $0["process_id"] as? String }
        }

        let all = try await rows([])
        #expect(Set(all.compactMap { $0["process_id"] as? String }) == ["g1", "f1", "g2"])
        #expect(all.first?["process_id"] as? String == "g2", "newest first")
        let failedRow = try #require(all.first { $0["process_id"] as? String == "f1" })
        #expect(failedRow["status"] as? String == "failed")
        #expect(failedRow["process_type"] as? String == "fail")
        #expect((failedRow["error"] as? [String: Any])?["task"] as? String == "boom")

        #expect(await Set(try ids(["--type", "greet"])) == ["g1", "g2"])
        #expect(try await ids(["--status", "failed"]) == ["f1"])
        #expect(await Set(try ids(["--type", "greet", "--status", "success"])) == ["g1", "g2"])
        #expect(try await ids(["--type", "nothing"]).isEmpty)
        #expect(try await ids(["--limit", "1"]) == ["g2"])
        #expect(try await ids(["--since", "1h"]).count == 3)
        #expect(try await ids(["--since", "2999-01-01"]).isEmpty)
        #expect(try await ids(["--since", "2000-01-01T00:00:00Z"]).count == 3)
        #expect(try await ids(["--until", "2000-01-01"]).isEmpty)

        let table = try await Self.command(spool, ["history"])
        #expect(table.status == 0)
        let lines = table.standardOutput.split(separator: "\n")
        #expect(lines.count == 4, "a header and three rows:\n\(table.standardOutput)")
        #expect(lines.contains { $0.contains("f1") && $0.contains("failed") })

        #expect(try await Self.command(spool, ["history", "--status", "bogus"]).status == 64)
        for option in ["--since", "--until"] {
            let bad = try await Self.command(spool, ["history", option, "yesterday-ish"])
            #expect(bad.status == 64)
            #expect(
                bad.standardError.contains("'yesterday-ish'") && bad.standardError.contains("'\(option) <"),
                "\(bad.standardError)")
        }
    }

    @Test func historyWithoutAStore() async throws {
        let spool = try TemporarySpool()
        let result = try await Self.command(spool, ["history"])
        #expect(result.status != 0)
        #expect(!result.standardError.isEmpty)
    }

    @Test func eventsListEveryStateChangeInOrder() async throws {
        let spool = try Self.spool()
        try spool.drop("g1", #"{"process_type": "greet", "user_id": "a"}"#)
        #expect(try await spool.serveOnce().status == 0)
        let result = try await Self.command(spool, ["events", "g1"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let expected = [
            ("accepted", nil), ("process_started", nil), ("task_started", "hello"), ("task_succeeded", "hello"),
            ("task_started", "bye"), ("task_succeeded", "bye"), ("process_succeeded", nil),
        ]
        #expect(lines.count == expected.count, "\(result.standardOutput)")
        for (line, (event, task)) in zip(lines, expected) {
            #expect(line.contains(event), "\(line)")
            if let task { #expect(line.contains(task), "\(line)") }
            let stamp = String(line.prefix { $0 != " " })
            #expect(Timestamp.parse(stamp) != nil, "no timestamp first in: \(line)")
        }
        #expect(try await Self.command(spool, ["events", "nobody"]).status != 0)
    }

    // MARK: - validate, init

    @Test func validateReportsEveryBrokenDefinitionWithItsLocation() async throws {
        let spool = try Self.spool()
        let valid = try await spool.run(["validate", "--definitions", spool.definitions.path], spoolOptions: false)
        #expect(valid.status == 0, "\(valid.standardOutput)\(valid.standardError)")

        try spool.define(
            "broken.yaml",
            """
            tasks:
              - name: a
                sleep: soon
              - name: b
                needs: [missing]
                shell: 'true'
            """)
        let invalid = try await spool.run(["validate", "--definitions", spool.definitions.path], spoolOptions: false)
        #expect(invalid.status == 1)
        let lines = invalid.standardOutput.split(separator: "\n").map(String.init).filter { $0.contains("broken.yaml") }
        #expect(lines.count >= 2, "\(invalid.standardOutput)")
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            #expect(parts.count == 4, "\(line)")
            #expect(parts[0].hasSuffix("broken.yaml"))
            #expect(Int(parts[1]) != nil && Int(parts[2]) != nil, "no line:column in: \(line)")
            #expect(parts.count == 4 && parts[3].hasPrefix(" ") && parts[3].count > 1)
        }
        #expect(lines.contains { $0.contains(":3:") && $0.contains("soon") })
        #expect(lines.contains { $0.contains(":5:") && $0.contains("missing") })
        #expect(!invalid.standardOutput.contains("greet.yaml:"))
    }

    @Test func shippedDefinitionsAreValid() async throws {
        let definitions = TemporarySpool.repositoryRoot.appendingPathComponent("definitions").path
        let spool = try TemporarySpool()
        let result = try await spool.run(["validate", "--definitions", definitions], spoolOptions: false)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("premium_subscription"))
    }

    @Test func initCreatesASpoolAndAWorkingExample() async throws {
        let spool = try TemporarySpool()
        let project = spool.root.appendingPathComponent("project").path
        let result = try await spool.run(["init", project], spoolOptions: false)
        #expect(result.status == 0, "\(result.standardError)")
        for directory in ["tmp", "inbox", "control", "outbox", "rejected", "work", "logs"] {
            var isDirectory: ObjCBool = false
            #expect(
                FileManager.default.fileExists(atPath: "\(project)/spool/\(directory)", isDirectory: &isDirectory)
                    && isDirectory.boolValue, "\(directory)")
        }
        let definitions = "\(project)/definitions"
        let names = try FileManager.default.contentsOfDirectory(atPath: definitions)
        #expect(names.contains { $0.hasSuffix(".yaml") })
        #expect(try await spool.run(["validate", "--definitions", definitions], spoolOptions: false).status == 0)

        // The example runs.
        let options = ["--spool", "\(project)/spool", "--definitions", definitions]
        let type = try #require(names.first { $0.hasSuffix(".yaml") }).replacingOccurrences(of: ".yaml", with: "")
        let submitted = try await spool.run(["submit", type, "name=world"] + options, spoolOptions: false)
        #expect(submitted.status == 0, "\(submitted.standardError)")
        let id = submitted.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let served = try await spool.run(["serve", "--once"] + options, spoolOptions: false)
        #expect(served.status == 0, "\(served.standardError)")
        let status = try StatusWriter(layout: SpoolLayout(root: "\(project)/spool")).read(processID: id)
        #expect(status?.status == .success, "\(String(describing: status))")

        // Running it again keeps what is there.
        #expect(try await spool.run(["init", project], spoolOptions: false).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: definitions) == names)
    }

    // MARK: - lock

    @Test func secondServeOnTheSameSpoolExitsAtOnce() async throws {
        let spool = try Self.spool()
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {
            #expect(
                await spool.eventually(timeout: 20) {
                    FileManager.default.fileExists(atPath: spool.layout.heartbeatFile)
                })

            let began = Date()
            let second = try await spool.serveOnce(timeout: 20)
            #expect(second.status == 75, "\(second.standardError)")
            #expect(Date().timeIntervalSince(began) < 10)
            #expect(second.standardError.contains("runner.lock"), "\(second.standardError)")
            #expect(second.standardError.lowercased().contains("lock"))
            let daemon = try await spool.start(["serve"]).wait(timeout: 20)
            #expect(daemon.status == 75)

            // The first one still works, and stops cleanly.
            try spool.drop("g1", #"{"process_type": "greet", "user_id": "a"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("g1")?.status == .success })
            runner.signal(SIGTERM)
            #expect(await runner.wait(timeout: 30).status == 0)
            // Once it is gone, the spool is free again.
            #expect(try await spool.serveOnce().status == 0)
        }
    }

    @Test func serveStopsCleanlyOnSIGINTLettingRunningTasksFinish() async throws {
        let spool = try Self.spool()
        try spool.define(
            "nap.yaml",
            """
            tasks:
              - name: nap
                shell: 'touch started; sleep 0.5; echo "{\\"slept\\": true}"'
              - name: after
                shell: 'touch after.ran'
            """)
        let runner = try spool.start(["serve", "--rescan", "200ms", "--grace", "20s"])
        try await runner.stopping(with: SIGKILL, timeout: 5) {
            try spool.drop("n1", #"{"process_type": "nap"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.workFile("n1", "started") != nil })
            runner.signal(SIGINT)
            let result = await runner.wait(timeout: 30)
            #expect(result.status == 0, "\(result.standardError)")
            // The running task finished and was recorded; no new task started after the signal.
            let status = try #require(spool.status("n1"))
            let nap = try status.task("nap")
            #expect(nap.status == .success)
            #expect(nap.output == ["slept": .bool(true)])
            #expect(spool.workFile("n1", "after.ran") == nil)
            #expect(try spool.integrityCheck() == "ok")
        }
    }
}
