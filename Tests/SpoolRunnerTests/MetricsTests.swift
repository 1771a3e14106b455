import Foundation
import GRDB
import Testing

@testable import SpoolRunner
@testable import SpoolStore

#if canImport(Glibc)
import Glibc
#endif

/// `serve --metrics-file`: the Prometheus textfile, parsed with Python's `prometheus_client`, its
/// counters across restarts, `--once` runs and `prune`, its mode and atomic replacement, and a
/// real node_exporter reading it.
@Suite(.endToEnd) struct MetricsTests {
    /// One sample of the exposition: `name{labels} value`.
    struct Sample: Decodable, Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses the file with `prometheus_client.parser.text_string_to_metric_families` and returns
    /// every sample, or nil (after the skip line or the CI failure) when the module is missing.
    static func parse(_ path: String) async throws -> [Sample]? {
        guard await RequiredTool.pythonModule("prometheus_client", installHint: "pip install prometheus-client") else {
            return nil
        }
        let program = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = open(sys.argv[1]).read()
            samples = [{"name": s.name, "labels": s.labels, "value": s.value, "timestamp": s.timestamp}
                       for family in text_string_to_metric_families(text) for s in family.samples]
            assert all(s["timestamp"] is None for s in samples), "a sample carries a timestamp"
            print(json.dumps(samples))
            """
        let result = try await Shell.run("/usr/bin/env", ["python3", "-c", program, path])
        #expect(result.status == 0, "prometheus_client cannot parse \(path): \(result.standardError)")
        return try JSONDecoder().decode([Sample].self, from: Data(result.standardOutput.utf8))
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func defineFlows(_ spool: TemporarySpool) throws {
        try spool.define("ok.yaml", "tasks:\n  - name: a\n    shell: 'true'\n")
        try spool.define("bad.yaml", "tasks:\n  - name: b\n    shell: 'exit 3'\n")
        // Fails its first attempt, succeeds on the second.
        try spool.define(
            "flaky.yaml",
            """
            tasks:
              - name: c
                retry: {max_attempts: 2, backoff: 10ms}
                shell: 'if [ -e tried ]; then exit 0; fi; touch tried; exit 1'

            """)
    }

    /// `serve --once --metrics-file` under umask 027 (the units' is 0027), as the shell would run it.
    static func serveOnce(_ spool: TemporarySpool, metricsFile: String) async throws -> CommandResult {
        let command = [
            TemporarySpool.binary, "serve", "--once", "--spool", spool.layout.root, "--definitions",
            spool.definitions.path, "--metrics-file", metricsFile,
        ].map { "'\($0)'" }.joined(separator: " ")
        return try await Shell.run("/bin/sh", ["-c", "umask 027; exec \(command)"], timeout: 120)
    }

    @Test func countsExactlyAndCountersSurviveOnceRunsRestartsAndPrune() async throws {
        let spool = try TemporarySpool()
        try Self.defineFlows(spool)
        let directory = spool.root.appendingPathComponent("textfile").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = "\(directory)/spoolrunner.prom"
        try spool.drop("ok1", #"{"process_type": "ok"}"#)
        try spool.drop("ok2", #"{"process_type": "ok"}"#)
        try spool.drop("bad1", #"{"process_type": "bad"}"#)
        try spool.drop("flaky1", #"{"process_type": "flaky"}"#)
        try spool.drop("nosuch1", #"{"process_type": "nosuch"}"#)
        try spool.writeInbox("broken1.json", "[1, 2]")

        let first = try await Self.serveOnce(spool, metricsFile: file)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(spool.status("flaky1")?.status == .success)
        guard let samples = try await Self.parse(file) else { return }
        let ok = ["process_type": "ok"]
        func processes(_ type: String, _ status: String) -> Double? {
            Self.value(samples, "spoolrunner_processes_total", ["process_type": type, "status": status])
        }
        #expect(processes("ok", "pending") == 2)
        #expect(processes("ok", "running") == 2)
        #expect(processes("ok", "success") == 2)
        #expect(processes("bad", "failed") == 1)
        #expect(processes("flaky", "success") == 1)
        #expect(processes("bad", "success") == nil)
        func attempts(_ type: String, _ task: String, _ outcome: String) -> Double? {
            Self.value(
                samples, "spoolrunner_task_attempts_total", ["process_type": type, "task": task, "outcome": outcome])
        }
        #expect(attempts("ok", "a", "success") == 2)
        #expect(attempts("bad", "b", "failed") == 1)
        #expect(attempts("flaky", "c", "retrying") == 1)
        #expect(attempts("flaky", "c", "success") == 1)
        #expect(Self.value(samples, "spoolrunner_rejections_total", ["code": "unknown_process_type"]) == 1)
        #expect(Self.value(samples, "spoolrunner_rejections_total", ["code": "not_an_object"]) == 1)
        // Histograms: one observation per ended attempt, process and start.
        #expect(
            Self.value(samples, "spoolrunner_task_duration_seconds_count", ["process_type": "ok", "task": "a"]) == 2)
        #expect(
            Self.value(samples, "spoolrunner_task_duration_seconds_count", ["process_type": "flaky", "task": "c"]) == 2)
        #expect(
            Self.value(
                samples, "spoolrunner_process_duration_seconds_count", ["process_type": "ok", "status": "success"])
                == 2)
        #expect(
            Self.value(
                samples, "spoolrunner_process_duration_seconds_count", ["process_type": "bad", "status": "failed"])
                == 1)
        #expect(Self.value(samples, "spoolrunner_queue_wait_seconds_count", ok) == 2)
        #expect(
            Self.value(
                samples, "spoolrunner_task_duration_seconds_bucket", ["process_type": "ok", "task": "a", "le": "+Inf"])
                == 2)
        // Gauges.
        #expect(Self.value(samples, "spoolrunner_build_info", ["version": Version.current]) == 1)
        let started = try #require(Self.value(samples, "spoolrunner_start_time_seconds"))
        #expect(abs(started - Date().timeIntervalSince1970) < 600)
        #expect(Self.value(samples, "spoolrunner_inbox_requests") == 0)
        #expect(Self.value(samples, "spoolrunner_inbox_oldest_request_age_seconds") == 0)
        #expect(Self.value(samples, "spoolrunner_definition_errors") == 0)
        #expect(Self.value(samples, "spoolrunner_processes", ["process_type": "ok", "status": "pending"]) == 0)
        #expect(Self.value(samples, "spoolrunner_processes", ["process_type": "ok", "status": "running"]) == 0)
        #expect(Self.value(samples, "spoolrunner_tasks_running", ok) == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!text.contains("process_id"))
        #expect(!text.contains("ok1"))

        // Mode 0644 under umask 027, and no temp file left beside it.
        var info = stat()
        #expect(stat(file, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["spoolrunner.prom"])

        // A second --once run: counters go on from the store; histograms start empty.
        try spool.drop("ok3", #"{"process_type": "ok"}"#)
        let second = try await Self.serveOnce(spool, metricsFile: file)
        #expect(second.status == 0, "\(second.standardError)")
        guard let again = try await Self.parse(file) else { return }
        #expect(Self.value(again, "spoolrunner_processes_total", ["process_type": "ok", "status": "success"]) == 3)
        #expect(Self.value(again, "spoolrunner_processes_total", ["process_type": "bad", "status": "failed"]) == 1)
        #expect(Self.value(again, "spoolrunner_rejections_total", ["code": "not_an_object"]) == 1)
        #expect(Self.value(again, "spoolrunner_task_duration_seconds_count", ["process_type": "ok", "task": "a"]) == 1)
        Self.expectNoCounterLower(before: samples, after: again)

        // prune deletes the history the counters counted; they stay.
        let prune = try await spool.run(["prune", "--older-than", "1ms"])
        #expect(prune.status == 0, "\(prune.standardError)")
        let third = try await Self.serveOnce(spool, metricsFile: file)
        #expect(third.status == 0, "\(third.standardError)")
        guard let pruned = try await Self.parse(file) else { return }
        #expect(Self.value(pruned, "spoolrunner_processes_total", ["process_type": "ok", "status": "success"]) == 3)
        #expect(
            Self.value(
                pruned, "spoolrunner_task_attempts_total",
                ["process_type": "flaky", "task": "c", "outcome": "retrying"]) == 1)
        Self.expectNoCounterLower(before: again, after: pruned)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let processRows = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM processes") }
        #expect(processRows == 0)
        let stored = try await queue.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT value FROM metric_counters WHERE metric = 'spoolrunner_processes_total'
                    AND labels_json = '{"process_type":"ok","status":"success"}'
                    """)
        }
        #expect(stored == 3)
    }

    static func expectNoCounterLower(
        before: [Sample], after: [Sample], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for sample in before where sample.name.hasSuffix("_total") {
            let now = value(after, sample.name, sample.labels) ?? -1
            #expect(
                now >= sample.value, "\(sample.name)\(sample.labels) went from \(sample.value) to \(now)",
                sourceLocation: sourceLocation)
        }
    }

    @Test func fileIsWrittenAtStartEveryIntervalAndAtShutdownAndReplacedAtomically() async throws {
        let spool = try TemporarySpool()
        try spool.define("sleepy.yaml", "tasks:\n  - name: nap\n    shell: 'sleep 30'\n")
        let file = spool.root.appendingPathComponent("runner.prom").path
        let runner = try spool.start(["serve", "--metrics-file", file, "--metrics-interval", "50ms", "--grace", "1ms"])
        defer { runner.signal(SIGKILL) }
        #expect(await spool.eventually { FileManager.default.fileExists(atPath: file) })
        try spool.drop("nap1", #"{"process_type": "sleepy"}"#)
        // Every read sees a whole file: an old one or a new one, never a half-written one.
        var inodes: Set<UInt> = []
        var sawRunning = false
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, inodes.count < 5 || !sawRunning {
            var info = stat()
            guard stat(file, &info) == 0 else {
                Issue.record("the metrics file disappeared")
                break
            }
            inodes.insert(UInt(info.st_ino))
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasSuffix("\n"))
            #expect(text.contains("spoolrunner_build_info{version=\"\(Version.current)\"} 1"))
            if text.contains(#"spoolrunner_tasks_running{process_type="sleepy"} 1"#),
                text.contains(#"spoolrunner_processes{process_type="sleepy",status="running"} 1"#)
            {
                sawRunning = true
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(inodes.count >= 5, "the file was not replaced every interval")
        #expect(sawRunning)
        runner.signal(SIGTERM)
        let result = await runner.wait()
        #expect(result.status == 0, "\(result.standardError)")
        // The last write comes after the engine recorded the stop.
        let last = try String(contentsOfFile: file, encoding: .utf8)
        #expect(last.contains(#"spoolrunner_tasks_running{process_type="sleepy"} 0"#), "\(last)")
        #expect(last.contains(#"spoolrunner_processes_total{process_type="sleepy",status="running"} 1"#), "\(last)")
        let names = try FileManager.default.contentsOfDirectory(atPath: spool.root.path)
        #expect(!names.contains { $0.hasPrefix(AtomicFile.tempPrefix) }, "\(names)")
    }

    @Test func scheduleLastRunIsTheNewestSubmittedSlot() async throws {
        let spool = try TemporarySpool()
        try spool.define("hourly.yaml", "schedule:\n  - cron: \"0 * * * *\"\ntasks:\n  - name: a\n    shell: 'true'\n")
        try spool.define("plain.yaml", "tasks:\n  - name: a\n    shell: 'true'\n")
        let file = spool.root.appendingPathComponent("schedules.prom").path
        let result = try await spool.serveOnce(
            ["--metrics-file", file], environment: [ScheduleClock.environmentKey: "2026-07-20T10:00:10Z"])
        #expect(result.status == 0, "\(result.standardError)")
        guard let samples = try await Self.parse(file) else { return }
        // The slot was submitted just now (real time; the schedule clock only picks the slot).
        let last = try #require(
            Self.value(samples, "spoolrunner_schedule_last_run_timestamp_seconds", ["process_type": "hourly"]))
        #expect(abs(last - Date().timeIntervalSince1970) < 600)
        #expect(
            Self.value(samples, "spoolrunner_schedule_last_run_timestamp_seconds", ["process_type": "plain"]) == nil)
        #expect(
            Self.value(samples, "spoolrunner_processes_total", ["process_type": "hourly", "status": "success"]) == 1)
    }

    @Test func anUnwritableMetricsFileStopsTheRunnerNamingIt() async throws {
        let spool = try TemporarySpool()
        let file = spool.root.appendingPathComponent("missing/dir/spoolrunner.prom").path
        let result = try await spool.run(["serve", "--once", "--metrics-file", file])
        #expect(result.status == 73, "\(result.standardError)")
        #expect(result.standardError.contains("--metrics-file"))
        #expect(result.standardError.contains(file))
        let interval = try await spool.run(["serve", "--once", "--metrics-file", file, "--metrics-interval", "0s"])
        #expect(interval.status == 64)
        #expect(interval.standardError.contains("--metrics-interval"))
    }

    @Test func backlogCountsRequestFilesAndTheOldestAge() throws {
        let spool = try TemporarySpool()
        try spool.writeInbox("a.json", "{}")
        try spool.writeInbox("b.json", "{}")
        try spool.writeInbox(".client-temp.json", "{}")
        try spool.writeInbox("notes.txt", "")
        var old = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, "\(spool.layout.inbox)/a.json", &old, 0) == 0)
        let now = Date(timeIntervalSince1970: 1_000_000_100)
        #expect(InboxBacklog.measure(inbox: spool.layout.inbox, now: now) == InboxBacklog(requests: 2, oldestAge: 100))
        #expect(InboxBacklog.measure(inbox: spool.layout.inbox + "/none") == InboxBacklog())
    }

    @Test func countersAreDerivedFromTheCommittedEvents() async throws {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        var increments = CounterIncrements()
        increments.add(
            events: [
                EventRecord(processID: "p", event: .accepted, at: at),
                EventRecord(processID: "p", event: .processStarted, at: at),
                EventRecord(processID: "p", taskName: "t", event: .taskStarted, at: at),
                EventRecord(processID: "p", taskName: "t", event: .taskRetrying, at: at),
                EventRecord(processID: "p", taskName: "t", event: .taskCancelled, at: at),
                EventRecord(
                    processID: "p", taskName: "u", event: .taskCancelled, at: at, detail: ["attempt": .integer(1)]),
                EventRecord(processID: "p", event: .processCancelled, at: at),
            ], processType: "x")
        increments.add(rejectionCode: .invalidJSON)
        var expected = CounterIncrements()
        expected.add(CounterKey(.processes, ["x", "pending"]))
        expected.add(CounterKey(.processes, ["x", "running"]))
        expected.add(CounterKey(.processes, ["x", "cancelled"]))
        expected.add(CounterKey(.taskAttempts, ["x", "t", "retrying"]))
        expected.add(CounterKey(.taskAttempts, ["x", "u", "cancelled"]))
        expected.add(CounterKey(.rejections, ["invalid_json"]))
        #expect(increments == expected)

        // Stored and loaded back through the real migrator, adding up across commits.
        let store = try SQLiteStore(inMemory: ())
        // Added twice: the rows add up.
        let writer = try store.testWriter
        let stored = increments
        for _ in 0..<2 { try await writer.write { db in try MetricCounters.add(stored, in: db) } }
        let loaded = try await store.metricCounters()
        #expect(loaded.count == expected.counts.count)
        for (key, amount) in expected.counts { #expect(loaded[key] == 2 * amount, "\(key)") }
    }
}
