import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 part 7: what a new user tripped over, one test per item (message and exit status).
@Suite(.endToEnd) struct NewUserTests {
    static let order = """
        inputs:
          quantity: {type: integer, required: true, min: 1}
          size: {type: string, enum: [s, m, l], default: m}
          sku: {type: string, pattern: "^SKU-[0-9]+$"}
        tasks:
          - name: pack
            shell: 'echo "{\\"packed\\": $SPOOL_INPUT_QUANTITY}"'
        """

    static func spool() throws -> TemporarySpool {
        let spool = try TemporarySpool()
        try spool.define("order.yaml", order)
        return spool
    }

    // MARK: - submit checks against the definitions

    @Test(arguments: [
        (["order", "quantity=three"], "invalid_inputs", "quantity"),
        (["order", "quantity=0"], "invalid_inputs", "quantity"),
        (["order", "quantity=2", "size=xl"], "invalid_inputs", "size"),
        (["order", "quantity=2", "sku=123"], "invalid_inputs", "sku"),
        (["order", "quantity=2", "colour=red"], "invalid_inputs", "unknown input 'colour'"),
        (["ordr", "quantity=2"], "unknown_process_type", "known types: order"),
    ])
    func submitRefusesWhatTheRunnerWouldReject(arguments: [String], code: String, detail: String) async throws {
        let spool = try Self.spool()
        let result = try await spool.run(["submit"] + arguments)
        #expect(result.status == 65, "\(arguments): \(result.standardError)")
        #expect(result.standardError.contains("\(code): "), "\(arguments): \(result.standardError)")
        #expect(result.standardError.contains(detail), "\(arguments): \(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(spool.inboxFiles().isEmpty, "nothing is dropped")
    }

    @Test func submitTypesValuesByTheDefinition() async throws {
        let spool = try Self.spool()
        let result = try await spool.run(["submit", "order", "quantity=3"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.isEmpty)
        let id = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let request = try #require(TemporarySpool.jsonObject(atPath: "\(spool.layout.inbox)/\(id).json"))
        #expect(request["quantity"] as? Int == 3)
    }

    @Test func submitWithoutDefinitionsSaysSoAndTakesTypedJSON() async throws {
        let spool = try Self.spool()
        // cron's working directory: no ./definitions there.
        let elsewhere = spool.root.appendingPathComponent("cron-cwd").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let result = try await Shell.run(
            TemporarySpool.binary, ["submit", "order", "quantity:=3", "note=hello", "--spool", spool.layout.root],
            directory: elsewhere)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("no definitions found in ./definitions"), "\(result.standardError)")
        #expect(result.standardError.contains("NAME:=JSON"))
        let id = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let request = try #require(TemporarySpool.jsonObject(atPath: "\(spool.layout.inbox)/\(id).json"))
        #expect(request["quantity"] as? Int == 3)
        #expect(request["note"] as? String == "hello")
    }

    // MARK: - submit --wait without a runner

    @Test func submitWaitSaysNoRunnerHoldsTheLock() async throws {
        let spool = try Self.spool()
        let result = try await spool.run(["submit", "order", "quantity=1", "--wait", "--timeout", "1s"])
        #expect(result.status == 124, "\(result.standardError)")
        #expect(
            result.standardError.contains("no runner holds the lock of \(spool.layout.root)"), "\(result.standardError)"
        )
        #expect(result.standardError.contains("still waiting"))
    }

    @Test func submitWaitIsQuietWhileARunnerHoldsTheLock() async throws {
        let spool = try Self.spool()
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGTERM, timeout: 30) {
            #expect(await spool.eventually { RunnerPresence.check(spool.layout).isRunning })
            let result = try await spool.run(["submit", "order", "quantity=1", "--wait", "--timeout", "30s"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(!result.standardError.contains("no runner"), "\(result.standardError)")
        }
    }

    // MARK: - cancel / retry checked before they are sent

    @Test func cancelAndRetryOfAnUnknownIDFail() async throws {
        let spool = try Self.spool()
        for action in ["cancel", "retry"] {
            let result = try await spool.run([action, "proc_000000000000"])
            #expect(result.status == 66, "\(action): \(result.standardError)")
            #expect(result.standardError.contains("no process 'proc_000000000000'"), "\(result.standardError)")
            #expect(!result.standardOutput.contains("requested"))
        }
        let control = try FileManager.default.contentsOfDirectory(atPath: spool.layout.control).filter {
            $0 != ".gitkeep"
        }
        #expect(control.isEmpty, "nothing sent: \(control)")
    }

    @Test func cancelOfAnEndedProcessAndRetryOfASuccessFail() async throws {
        let spool = try Self.spool()
        try spool.drop("done1", #"{"process_type": "order", "quantity": 1}"#)
        #expect(try await spool.serveOnce().status == 0)
        #expect(spool.status("done1")?.status == .success)
        let cancel = try await spool.run(["cancel", "done1"])
        #expect(cancel.status == 65, "\(cancel.standardError)")
        #expect(
            cancel.standardError.contains("done1 already ended success; there is nothing to cancel"),
            "\(cancel.standardError)")
        let retry = try await spool.run(["retry", "done1"])
        #expect(retry.status == 65, "\(retry.standardError)")
        #expect(
            retry.standardError.contains("only failed or cancelled processes are retried"), "\(retry.standardError)")
        // --db is honoured: another (empty) store does not know the id.
        let other = spool.root.appendingPathComponent("other.sqlite").path
        _ = try SQLiteStore(path: other)
        let elsewhere = try await spool.run(["cancel", "done1", "--db", other])
        #expect(elsewhere.status == 66, "\(elsewhere.standardError)")
        #expect(elsewhere.standardError.contains(other))
    }

    @Test func cancelWaitAndRetryWaitFollowTheResult() async throws {
        let spool = try TemporarySpool()
        let marker = spool.root.appendingPathComponent("second-run").path
        try spool.define(
            "flaky.yaml",
            """
            tasks:
              - name: wait_or_fail
                shell: 'if [ -e "\(marker)" ]; then exit 0; fi; sleep 30'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM, timeout: 30) {
            try spool.drop("c2", #"{"process_type": "flaky"}"#)
            #expect(await spool.eventually { spool.status("c2")?.tasks.first?.status == .running })
            let cancel = try await spool.run(["cancel", "c2", "--wait"])
            #expect(cancel.status == 0, "\(cancel.standardError)")
            #expect(cancel.standardOutput.contains("c2: cancelled"), "\(cancel.standardOutput)")
            _ = FileManager.default.createFile(atPath: marker, contents: nil)
            let retry = try await spool.run(["retry", "c2", "--wait"])
            #expect(retry.status == 0, "\(retry.standardError)")
            #expect(retry.standardOutput.contains("c2: success"), "\(retry.standardOutput)")
            // --wait follows the store; the status file is written once that commit returned.
            #expect(await spool.eventually { spool.status("c2")?.status == .success })
        }
    }

    // MARK: - init, validate

    @Test func initHintPutsEachCommandOnItsOwnLine() async throws {
        let spool = try TemporarySpool()
        let project = spool.root.appendingPathComponent("my project").path
        let result = try await spool.run(["init", project], spoolOptions: false)
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("cd '\(project)'"), "\(result.standardOutput)")
        #expect(lines.contains("spoolrunner serve &"))
        #expect(!result.standardOutput.contains("&& spoolrunner serve &"), "pasted, that backgrounds the cd too")
    }

    @Test func validateFailsOnAMissingOrNonExecutableProgram() async throws {
        let spool = try TemporarySpool()
        try spool.script("ok.sh", "#!/bin/sh\nexit 0\n")
        let notExecutable = spool.definitions.appendingPathComponent("scripts/plain.sh").path
        try "#!/bin/sh\nexit 0\n".write(toFile: notExecutable, atomically: true, encoding: .utf8)
        try spool.define(
            "jobs.yaml",
            """
            tasks:
              - name: fine
                run: ["scripts/ok.sh"]
              - name: typo
                run: ["scripts/missing.sh", "--flag"]
              - name: plain
                run: ["scripts/plain.sh"]
              - name: bare
                run: ["no-such-program-anywhere"]
              - name: system
                run: ["true"]
            """)
        let result = try await spool.run(["validate"])
        #expect(result.status == 1, "\(result.standardOutput)")
        let file = spool.definitions.appendingPathComponent("jobs.yaml").path
        #expect(
            result.standardOutput.contains(
                "\(file):5:12: tasks[1].run[0]: task 'typo': program 'scripts/missing.sh' does not exist"),
            "\(result.standardOutput)")
        #expect(
            result.standardOutput.contains(
                "\(file):7:12: tasks[2].run[0]: task 'plain': program \(notExecutable) is not executable"),
            "\(result.standardOutput)")
        #expect(
            result.standardOutput.contains(
                "task 'bare': program 'no-such-program-anywhere' does not exist (not found in PATH="),
            "\(result.standardOutput)")
        #expect(!result.standardOutput.contains("'fine'"))
        #expect(!result.standardOutput.contains("'system'"))
    }

    @Test func validateOfAnEmptyDirectoryFails() async throws {
        let spool = try TemporarySpool()
        let result = try await spool.run(["validate"])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("no definitions (*.yaml, *.yml) found"), "\(result.standardOutput)")
    }

    // MARK: - status while no runner runs

    @Test func statusSaysWhenNoRunnerRuns() async throws {
        let spool = try TemporarySpool()
        try spool.define("slow.yaml", "tasks:\n  - name: nap\n    shell: 'sleep 30'\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("s1", #"{"process_type": "slow"}"#)
        #expect(await spool.eventually { spool.status("s1")?.tasks.first?.status == .running })
        let live = try await spool.run(["status", "s1"])
        #expect(live.status == 0)
        #expect(!live.standardOutput.contains("no runner"), "\(live.standardOutput)")
        runner.signal(SIGKILL)
        _ = await runner.wait(timeout: 30)
        let stale = try await spool.run(["status", "s1"])
        #expect(stale.status == 0)
        #expect(stale.standardOutput.contains("RUNNING"))
        #expect(
            stale.standardOutput.contains("note: no runner is running on \(spool.layout.root); last seen at "),
            "\(stale.standardOutput)")
        // Leftover task processes of the killed runner end with the test's spool: the next run
        // kills them first, and the cancel keeps it from running the 30 s task again.
        _ = try await spool.run(["cancel", "s1"])
        _ = try await spool.serveOnce(["--grace", "1s"], timeout: 5)
    }

    // MARK: - history, events --follow, rejections, prune --dry-run

    @Test func historyIsTabSeparatedWhenPipedAndRejectionsAreListed() async throws {
        let spool = try Self.spool()
        try spool.drop("h1", #"{"process_type": "order", "quantity": 2}"#)
        try spool.drop("bad1", #"{"process_type": "order", "quantity": "two"}"#)
        #expect(try await spool.serveOnce().status == 0)
        let history = try await spool.run(["history"])
        #expect(history.status == 0)
        let rows = history.standardOutput.split(separator: "\n").map { $0.components(separatedBy: "\t") }
        #expect(rows.first == ["PROCESS", "TYPE", "STATUS", "CREATED", "TOOK", "ERROR"])
        #expect(rows.dropFirst().map { $0.prefix(3) } == [["h1", "order", "success"]])

        let rejections = try await spool.run(["rejections"])
        #expect(rejections.status == 0, "\(rejections.standardError)")
        let lines = rejections.standardOutput.split(separator: "\n").map { $0.components(separatedBy: "\t") }
        #expect(lines.first == ["RECEIVED", "FILE", "CODE", "MESSAGE"])
        #expect(lines.count == 2)
        #expect(lines.last?[1] == "bad1.json")
        #expect(lines.last?[2] == "invalid_inputs")
        let json = try await spool.run(["rejections", "--json", "--code", "invalid_inputs"])
        let array = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
        #expect(array.map { $0["file"] as? String } == ["bad1.json"])
        let none = try await spool.run(["rejections", "--code", "too_large"])
        #expect(none.standardOutput == "no rejections match\n")
        let badCode = try await spool.run(["rejections", "--code", "nonsense"])
        #expect(badCode.status == 64)
    }

    /// Piped, a value's own tabs and newlines become spaces: still one field per column and one
    /// line per row (a rejected file's name may hold both).
    @Test func tabsAndNewlinesInValuesBecomeSpacesWhenPiped() async throws {
        let spool = try Self.spool()
        try spool.drop("tab\tand\nnewline", #"{"process_type": "order", "quantity": "two"}"#)
        #expect(try await spool.serveOnce().status == 0)
        let rejections = try await spool.run(["rejections"])
        #expect(rejections.status == 0, "\(rejections.standardError)")
        let lines = rejections.standardOutput.split(separator: "\n").map { $0.components(separatedBy: "\t") }
        #expect(lines.count == 2, "\(rejections.standardOutput)")
        #expect(lines.map(\.count) == [4, 4], "\(rejections.standardOutput)")
        #expect(lines.last?[1] == "tab and newline.json", "\(rejections.standardOutput)")
    }

    @Test func eventsFollowPrintsUntilTheProcessEnds() async throws {
        let spool = try TemporarySpool()
        try spool.define("two.yaml", "tasks:\n  - name: a\n    sleep: 300ms\n  - name: b\n    sleep: 300ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM, timeout: 30) {
            try spool.drop("f1", #"{"process_type": "two"}"#)
            #expect(await spool.eventually { spool.status("f1") != nil })
            let follow = try await spool.start(["events", "f1", "--follow"]).wait(timeout: 30)
            #expect(follow.status == 0, "\(follow.standardError)")
            let events = follow.standardOutput.split(separator: "\n")
            #expect(events.count >= 4, "\(follow.standardOutput)")
            #expect(events.last?.contains("process_succeeded") == true, "\(follow.standardOutput)")
            #expect(spool.status("f1")?.status == .success)
        }
    }

    @Test func pruneDryRunListsAndChangesNothing() async throws {
        let spool = try Self.spool()
        try spool.drop("p1", #"{"process_type": "order", "quantity": 2}"#)
        #expect(try await spool.serveOnce().status == 0)
        try await Task.sleep(for: .milliseconds(50))
        let dry = try await spool.run(["prune", "--older-than", "1ms", "--dry-run"])
        #expect(dry.status == 0, "\(dry.standardError)")
        #expect(dry.standardOutput.hasPrefix("p1\n"), "\(dry.standardOutput)")
        #expect(dry.standardOutput.contains("would prune 1 process(es)"))
        #expect(spool.status("p1")?.status == .success)
        let store = SQLiteStore(readOnlyPath: spool.layout.defaultDatabase)
        #expect(try await store.statusCounts() == [.success: 1])
    }
}
