import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Issue 6 through the real binary: interrupted work resumes, one store per spool, escaped and
/// flooding tasks, no lost exit.
@Suite(.endToEnd) struct ReliabilityTests {
    @Test(.waitsOnTimers) func aSleepInterruptedByACrashResumesWithTheTimeItHadLeft() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 8s\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("z1", #"{"process_type": "nap"}"#)
        #expect(await spool.eventually { spool.status("z1")?.tasks.first?.status == .running })
        let firstStart = try instant(spool.status("z1")?.tasks.first?.startedAt)
        // Let at least 3 s of the 8 s pass, then crash.
        while Date().timeIntervalSince(firstStart) < 3 { try await Task.sleep(for: .milliseconds(50)) }
        runner.signal(SIGKILL)
        _ = await runner.wait()

        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        let task = try #require(spool.status("z1")?.tasks.first)
        #expect(spool.status("z1")?.status == .success)
        #expect(task.attempts == 2, "the interrupted attempt is recorded")
        // The resumed attempt waited only for what was left: it ends at the first start + 8 s
        // (or just after), not 8 s after its own start.
        let secondStart = try instant(task.startedAt)
        let end = try instant(task.endedAt)
        #expect(end.timeIntervalSince(firstStart) >= 7.9)
        #expect(end.timeIntervalSince(secondStart) < 5.5, "resumed sleep took \(end.timeIntervalSince(secondStart)) s")
        let detail = try spool.history { db in
            try String.fetchOne(
                db, sql: "SELECT detail_json FROM events WHERE process_id = 'z1' AND event = 'task_interrupted'")
        }
        #expect(detail?.contains("sleep_until") == true)
    }

    @Test func idempotentTasksSurviveSeveralCrashesWithoutRetryConfigured() async throws {
        // Two crashes in a row (below the crash-loop limit of three), no retry: configured.
        let spool = try TemporarySpool()
        try spool.define(
            "steps.yaml",
            """
            tasks:
              - name: one
                shell: 'echo "one $SPOOL_ATTEMPT" >> runs.log'
              - name: two
                shell: 'echo "two $SPOOL_ATTEMPT" >> runs.log; if [ "$SPOOL_ATTEMPT" -lt 3 ]; then sleep 30; fi'
            """)
        try spool.drop("c1", #"{"process_type": "steps"}"#)
        for crash in 1...2 {
            let runner = try spool.start(["serve", "--rescan", "100ms"])
            // The attempt really runs (its start is recorded before its spawn).
            #expect(await spool.eventually { spool.workFile("c1", "runs.log")?.contains("two \(crash)\n") ?? false })
            runner.signal(SIGKILL)
            _ = await runner.wait()
        }
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("c1")?.status == .success)
        #expect(spool.status("c1")?.tasks.map(\.attempts) == [1, 3])
        #expect(spool.workFile("c1", "runs.log") == "one 1\ntwo 1\ntwo 2\ntwo 3\n")
    }

    @Test func aSecondSpoolSharingTheStoreIsRefused() async throws {
        let first = try TemporarySpool()
        let second = try TemporarySpool()
        try first.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        try second.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let database = first.layout.defaultDatabase
        try first.drop("a1", #"{"process_type": "nap"}"#)
        #expect(try await first.serveOnce().status == 0)
        try second.drop("b1", #"{"process_type": "nap"}"#)
        let refused = try await second.run(["serve", "--once", "--db", database])
        #expect(refused.status == 78, "\(refused.standardError)")
        #expect(refused.standardError.contains("belongs to the spool at \(first.layout.root)"))
        #expect(refused.standardError.contains(second.layout.root))
        #expect(second.inboxFiles() == ["b1.json"], "nothing taken")
        #expect(try first.processRowCount("b1") == 0)
        // The first spool goes on with its store; its identity file is what ties them.
        try first.drop("a2", #"{"process_type": "nap"}"#)
        #expect(try await first.serveOnce().status == 0)
        #expect(first.status("a2")?.status == .success)
        let identity = try String(contentsOfFile: first.layout.identityFile, encoding: .utf8)
        #expect(identity.trimmingCharacters(in: .whitespacesAndNewlines).count == 32)
    }

    @Test func anIdentityFileThatIsNotOneIsReported() async throws {
        let spool = try TemporarySpool()
        try "not an id\n".write(toFile: spool.layout.identityFile, atomically: true, encoding: .utf8)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 73)
        #expect(result.standardError.contains("runner.id"))
        #expect(result.standardError.contains("32 hex digits"))
    }

    @Test func aTaskThatLeavesADaemonHoldingItsOutputStillEnds() async throws {
        let spool = try TemporarySpool()
        // The daemon escapes the task's process group and keeps standard output open.
        try spool.define(
            "forker.yaml",
            """
            tasks:
              - name: fork
                shell: 'setsid sh -c "echo \\$\\$ > daemon.pid.tmp; mv daemon.pid.tmp daemon.pid; exec sleep 300" & while [ ! -s daemon.pid ]; do sleep 0.01; done; echo {\\"ok\\": true}'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM) {
            try spool.drop("f1", #"{"process_type": "forker"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("f1")?.status == .success })
            #expect(spool.status("f1")?.tasks.first?.output?["ok"] == .bool(true))
            if let text = spool.workFile("f1", "daemon.pid"),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                #expect(ProcessInspector.isAlive(pid), "the daemon is left alone: it escaped on purpose")
                kill(pid, SIGKILL)
            } else {
                Issue.record("the daemon did not start")
            }
        }
    }

    @Test func aRerunKillsAnEscapedCopyOfTheInterruptedTaskFirst() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "escaper.yaml",
            """
            tasks:
              - name: work
                shell: 'echo "start $SPOOL_ATTEMPT" >> runs.log; if [ "$SPOOL_ATTEMPT" = 1 ]; then setsid sh -c "echo \\$\\$ > escaped.pid; exec sleep 300" & sleep 300; fi'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try spool.drop("e1", #"{"process_type": "escaper"}"#)
        #expect(await spool.eventually { spool.workFile("e1", "escaped.pid") != nil })
        let escaped = try #require(
            Int32(spool.workFile("e1", "escaped.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        runner.signal(SIGKILL)
        _ = await runner.wait()
        #expect(ProcessInspector.isAlive(escaped))
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("e1")?.status == .success)
        #expect(!ProcessInspector.isAlive(escaped), "killed before the rerun")
        kill(escaped, SIGKILL)
    }

    @Test func aFloodOfOutputKeepsTheRunnerSmall() async throws {
        let spool = try TemporarySpool()
        // 150 MB on standard output, in lines; the log gets all of it, memory none of it.
        try spool.define(
            "flood.yaml",
            """
            tasks:
              - name: flood
                shell: 'yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c 150000000; echo; echo {\\"done\\": 1}'
            """)
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM) {
            try spool.drop("o1", #"{"process_type": "flood"}"#)
            #expect(await spool.eventually(timeout: 120) { spool.status("o1")?.status == .success })
            #expect(spool.status("o1")?.tasks.first?.output?["done"] == .integer(1))
            let logSize =
                try FileManager.default.attributesOfItem(atPath: spool.layout.logFile("o1", task: "flood", attempt: 1))[
                    .size] as? Int
            #expect((logSize ?? 0) >= 150_000_000)
            let peak = Self.peakResidentKilobytes(runner.pid)
            #expect(peak > 0 && peak < 120_000, "runner peak RSS \(peak) kB")
        }
    }

    @Test func manyShortChildrenAllEndAndLeaveNoZombieBesideCPUHogs() async throws {
        // The short version of scripts/stress-spawn.py (the documented run spawns 21,000).
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/stress-spawn.py").path
        // Waited for by suspending: a pool thread blocked for these 20 s is one fewer for every
        // other test.
        let stress = try RunningCommand(
            executable: "/usr/bin/env",
            arguments: [
                "python3", script, "--bin", TemporarySpool.binary, "--requests", "700", "--hogs", "2", "--stall", "60",
            ], environment: [:], directory: nil)
        let result = await stress.wait(timeout: 600)
        let text = result.standardOutput + result.standardError
        #expect(result.status == 0, "\(text)")
        #expect(text.contains("ended=700 stuck=0 not_success=0 zombies=0"), "\(text)")
    }

    static func peakResidentKilobytes(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
