import Foundation
import Testing

/// `scripts/chaos.sh` (SIGKILL the runner at random moments while requests arrive) at a small
/// size on the test build, with batches of 7 so that most changes wait for a later batch: the
/// path that once left accepted request files in `inbox/` for good. The documented run (2,000
/// requests, 20 kills) stays a script.
@Suite(.endToEnd) struct ChaosScriptTests {
    @Test func killedRunnerLosesAndDuplicatesNothingWithSmallBatches() async throws {
        // The script's checks are Python.
        guard RequiredTool.find("python3", installHint: "apt-get install python3") != nil else { return }
        let result = try await Shell.run(
            "/bin/bash", [Repository.path("scripts/chaos.sh")],
            environment: [
                "BIN": TemporarySpool.binary, "REQUESTS": "240", "KILLS": "4", "COMMIT_BATCH": "7",
                "MIN_RUN_MS": "200", "MAX_RUN_MS": "900",
            ],
            directory: Repository.path(""), timeout: 300)
        #expect(result.status == 0, "chaos.sh failed:\n\(result.standardOutput)\n\(result.standardError)")
        let summary = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("requests=") } ?? ""
        for clean in ["lost=0", "duplicated=0", "reran_beyond_attempts=0", "inbox_left=0", "integrity=ok"] {
            #expect(summary.contains(clean), "\(clean) not in: \(summary)")
        }
        #expect(summary.contains("requests=240"), "\(summary)")
    }
}
