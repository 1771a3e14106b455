import Foundation
import Testing

/// `scripts/bench.py` (issue 10) at tiny sizes on the test build: every workload runs end to end
/// and prints every measure the issue asks for. No timing is asserted: speed lives in the
/// benchmark itself (BENCHMARKS.md), not in the suite.
@Suite(.endToEnd) struct BenchHarnessTests {
    /// The measures of a throughput or latency workload (W1-W5).
    static let measures = [
        "requests", "wall_s", "processes_per_s", "task_transitions_per_s", "pickup_p50_ms", "pickup_p99_ms",
        "e2e_p50_ms", "e2e_p99_ms", "peak_rss_mb", "cpu_s_per_1000", "cores", "load",
    ]

    /// The measures of the history workload (W6): the store's size and each query's time.
    static let historyMeasures = [
        "requests", "generate_s", "history_newest_ms", "history_type_ms", "history_status_ms", "history_range_ms",
        "events_ms", "status_ms", "peak_rss_mb", "cores", "load",
    ]

    @Test func everyWorkloadPrintsEveryMeasure() async throws {
        guard let python = RequiredTool.find("python3", installHint: "apt-get install python3") else { return }
        let result = try await Shell.run(
            python,
            [
                Repository.path("scripts/bench.py"), "--binary", TemporarySpool.binary, "--w1", "12", "--w2", "4",
                "--w3", "4", "--w4", "3", "--w4-interval-ms", "20", "--w5", "20", "--w6", "300", "--w6-repeats", "1",
                "--xargs-p", "2",
            ], timeout: 300)
        #expect(result.status == 0, "bench.py failed: \(result.standardError)")
        var lines: [String: [[String: String]]] = [:]
        for line in result.standardOutput.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            var values: [String: String] = [:]
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { values[String(pair[0])] = String(pair[1]) }
            }
            lines[String(name), default: []].append(values)
        }
        for workload in ["W1", "W2", "W3", "W4", "W5"] {
            let results = try #require(lines[workload], "no \(workload) line in:\n\(result.standardOutput)")
            for values in results {
                for measure in Self.measures {
                    #expect(values[measure] != nil, "\(workload) has no \(measure): \(values)")
                }
            }
        }
        #expect(lines["W3"]?.compactMap { $0["max_tasks"] }.sorted() == ["16", "256"])
        #expect(lines["W1"]?.first?["requests"] == "12")
        for key in ["xargs_spawns_per_s", "runner_spawns_per_s", "spawn_ratio"] {
            #expect(lines["W2"]?.first?[key] != nil, "W2 has no \(key)")
        }
        #expect(lines["W4"]?.first?["idle_rss_mb"] != nil)
        #expect(lines["W5"]?.first?["idle_rss_mb"] != nil)
        let history = try #require(lines["W6"]?.first, "no W6 line in:\n\(result.standardOutput)")
        for measure in Self.historyMeasures {
            #expect(history[measure] != nil, "W6 has no \(measure): \(history)")
        }
        // 300 generated from the real runner's rows, plus the 3 processes it ran as templates.
        #expect(history["requests"] == "303")
    }
}
