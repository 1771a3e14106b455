import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// runner.json's counts per type, oldest waiting request, next slots, last error; the systemd
/// watchdog pinged from the engine loop, and STATUS= lines.
@Suite(.endToEnd) struct RunnerHeartbeatTests {
    static func heartbeat(_ spool: TemporarySpool) -> [String: Any]? {
        TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile)
    }

    @Test func runnerJSONCountsPerTypeAndNextSlots() async throws {
        let spool = try TemporarySpool()
        // concurrency 1: the second request of the type waits, so it is the oldest waiting one.
        try spool.define(
            "slow.yaml",
            "concurrency: 1\nschedule:\n  - name: nightly\n    cron: \"0 3 * * *\"\n    timezone: Europe/Berlin\ntasks:\n  - name: wait\n    sleep: 1m\n"
        )
        try spool.define("broken.yaml", "tasks: [\n")
        try spool.drop("s1", #"{"process_type": "slow"}"#)
        try spool.drop("s2", #"{"process_type": "slow"}"#)
        let runner = try spool.start(
            ["serve", "--grace", "1s"], environment: [ScheduleClock.environmentKey: "2026-07-20T12:00:00Z"])
        var document: [String: Any]?
        let seen = await spool.eventually(timeout: 30) {
            document = Self.heartbeat(spool)
            let byType = document?["by_type"] as? [String: [String: Int]]
            return byType?["slow"]?["running_processes"] == 1 && byType?["slow"]?["pending_processes"] == 1
                && (document?["oldest_waiting_seconds"] as? Double ?? 0) > 2
        }
        runner.signal(SIGTERM)
        let result = await runner.wait()
        #expect(seen, "\(String(describing: document))\n\(result.standardError)")
        let byType = document?["by_type"] as? [String: [String: Int]]
        #expect(byType?["slow"]?["running_tasks"] == 1)
        let schedules = document?["schedules"] as? [[String: Any]]
        #expect(schedules?.count == 1)
        // 03:00 in Berlin in July is 01:00 UTC, and the clock reads 2026-07-20 12:00 UTC.
        #expect(schedules?.first?["next_slot"] as? String == "2026-07-21T01:00:00.000Z")
        #expect(schedules?.first?["name"] as? String == "nightly")
        #expect((document?["definition_errors"] as? [String])?.first?.contains("broken.yaml") == true)
        let lastError = document?["last_error"] as? [String: String]
        #expect(lastError?["message"]?.contains("broken.yaml") == true, "\(String(describing: lastError))")
        #expect(lastError?["at"]?.hasSuffix("Z") == true)
    }

    /// WATCHDOG_USEC set: WATCHDOG=1 arrives regularly with a STATUS= line; once the engine loop
    /// hangs (a test hook blocks it for good), the pings stop while the process lives on.
    @Test(.waitsOnTimers) func watchdogPingsStopWhenTheEngineLoopHangs() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let path = spool.root.appendingPathComponent("notify.sock").path
        let socket = try DatagramSocket(path: path)
        let runner = try spool.start(
            ["serve"],
            environment: [
                "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "600000", "SPOOLRUNNER_HANG_AT_HEARTBEAT": "6",
            ])
        await runner.stopping(with: SIGKILL) {
            var pings: [String] = []
            var messages: [String] = []
            // The first message may take a while on a loaded machine; after it, 5 s of silence ends.
            if let first = socket.receive(timeout: 60) {
                messages.append(first)
                if first.contains("WATCHDOG=1") { pings.append(first) }
            }
            while let message = socket.receive(timeout: 5) {
                messages.append(message)
                if message.contains("WATCHDOG=1") { pings.append(message) }
            }
            // Five heartbeats pinged (the sixth hung the loop); nothing for 5 s since.
            #expect(pings.count == 5, "\(messages)")
            #expect(
                pings.first?.contains("STATUS=0 running, 0 pending, 0 task(s), 0 waiting in inbox") == true, "\(pings)")
            #expect(kill(runner.pid, 0) == 0, "the runner itself must still be alive")
        }
    }

    @Test(.waitsOnTimers) func noWatchdogPingsWithoutWatchdogUsec() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let path = spool.root.appendingPathComponent("notify.sock").path
        let socket = try DatagramSocket(path: path)
        let runner = try spool.start(["serve"], environment: ["NOTIFY_SOCKET": path])
        var messages: [String] = []
        // Until two STATUS= lines came (two heartbeats), or a minute on a very loaded machine.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, messages.filter({ $0.hasPrefix("STATUS=") }).count < 2,
            let message = socket.receive(timeout: 10)
        {
            messages.append(message)
        }
        runner.signal(SIGTERM)
        _ = await runner.wait()
        #expect(messages.contains { $0.hasPrefix("STATUS=") }, "\(messages)")
        #expect(!messages.contains { $0.contains("WATCHDOG=1") })
    }
}
