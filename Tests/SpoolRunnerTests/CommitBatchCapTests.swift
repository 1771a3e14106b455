import Foundation
import Testing

@testable import SpoolRunner

/// `--commit-batch N` caps the processes one transaction carries; the rest wait for the next
/// batch, and so does what waits on them. Nothing may be left behind: a request file accepted
/// into a later batch must still leave `inbox/` once that batch is durable (SPEC §6).
@Suite struct CommitBatchCapTests {
    static let definition = """
        tasks:
          - name: count
            shell: 'echo "$SPOOL_ATTEMPT" >> runs.log'
        """

    @Test(arguments: [1, 2, 3])
    func everyAcceptedFileLeavesTheInboxWhenBatchesAreCapped(cap: Int) async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let ids = (1...7).map { "p\($0)" }
        for id in ids { try spool.drop(id, #"{"process_type": "greet"}"#) }

        try await runEngineOnce(spool) {
            $0.commitBatch = cap
            $0.settle = .zero
        }

        #expect(spool.inboxFiles().isEmpty, "accepted request files left in inbox/ with --commit-batch \(cap)")
        for id in ids {
            #expect(spool.status(id)?.status == .success, "\(id)")
            #expect(try spool.processRowCount(id) == 1, "\(id)")
            #expect(spool.workFile(id, "runs.log") == "1\n", "\(id) ran once")
        }
    }

    /// A restart with more unfinished processes than one batch holds (what `scripts/chaos.sh`
    /// hit): the request files a killed runner left in `inbox/` after their commit are the same
    /// bytes again, and must leave with the recovered processes' batches.
    @Test func identicalFilesOfRecoveredProcessesLeaveTheInbox() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let ids = (1...6).map { "p\($0)" }
        // Accepted but never started (no task slots): six unfinished processes in the store.
        let intakeOnly: (inout EngineConfiguration) -> Void = { $0.maxTasks = 0 }
        try await withEngine(spool, configure: intakeOnly) { engine in
            for id in ids { try engine.drop(id, #"{"process_type": "greet"}"#) }
            #expect(await engine.eventually { ids.allSatisfy { engine.status($0)?.status == .pending } })
        }
        #expect(spool.inboxFiles().isEmpty)
        // The same bytes again, as a runner killed between its commit and the unlinks leaves them.
        for id in ids { try spool.drop(id, #"{"process_type": "greet"}"#) }
        try await runEngineOnce(spool) {
            $0.commitBatch = 2
            $0.settle = .zero
        }
        #expect(spool.inboxFiles().isEmpty, "request files of recovered processes left in inbox/")
        #expect(try spool.rejectionRows().isEmpty)
        for id in ids {
            #expect(spool.status(id)?.status == .success, "\(id)")
            #expect(spool.workFile(id, "runs.log") == "1\n", "\(id) ran once")
        }
    }
}
