import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Status files always converge to the store (SPEC §4): a write that failed is retried, a missing
/// directory is recreated, and every start and a periodic pass repair what is missing or stale.
@Suite(.endToEnd) struct StatusConvergenceTests {
    static let quick = """
        tasks:
          - name: first
            sleep: 20ms
          - name: second
            sleep: 20ms
        """

    static func request(_ type: String = "quick") -> String { #"{"process_type": "\#(type)"}"# }

    @Test func outboxDeletedUnderARunningRunnerIsRecreatedAndRefilled() async throws {
        let spool = try TemporarySpool()
        try spool.define("quick.yaml", Self.quick)
        // The periodic pass every 500 ms instead of every 5 s: the test waits for it twice.
        let runner = try spool.start(
            ["serve", "--settle", "0s", "--rescan", "200ms"], environment: ["SPOOLRUNNER_STATUS_CHECK": "500ms"])
        try await runner.stopping(with: SIGTERM) {
            let early = (0..<20).map { "early\($0)" }
            for id in early { try spool.drop(id, Self.request()) }
            #expect(await spool.eventually { early.allSatisfy { spool.status($0)?.status == .success } })

            try FileManager.default.removeItem(atPath: spool.layout.outbox)
            // Nothing new happens: the periodic pass alone must notice, recreate and refill.
            try await spool.expectStatusFilesConverge(early)
            #expect(FileManager.default.fileExists(atPath: spool.layout.outbox))

            try FileManager.default.removeItem(atPath: spool.layout.outbox)
            // Now with requests arriving: their own writes meet the missing directory first.
            let late = (0..<10).map { "late\($0)" }
            for id in late { try spool.drop(id, Self.request()) }
            try await spool.expectStatusFilesConverge(early + late)
            #expect((early + late).allSatisfy { spool.status($0)?.status == .success })
            let log = TemporarySpool.standardErrorSoFar(runner)
            #expect(log.contains("recreated missing directory \(spool.layout.outbox)"), "\(log.suffix(2000))")
            // `status --json` prints exactly what the store says.
            let shown = try await spool.run(["status", "early3", "--json"])
            #expect(Data(shown.standardOutput.utf8) == (try spool.storeDocuments())["early3"])
        }
    }

    @Test func everyStartRepairsMissingAndStaleStatusFilesEvenAfterACleanStop() async throws {
        let spool = try TemporarySpool()
        try spool.define("quick.yaml", Self.quick)
        let ids = (0..<12).map { "p\($0)" }
        for id in ids { try spool.drop(id, Self.request()) }
        let first = try await spool.serveOnce(["--settle", "0s"])
        #expect(first.status == 0, "\(first.standardError)")
        try #require(ids.allSatisfy { spool.status($0)?.status == .success })

        // Behind the runner's back, after a clean stop: some files gone, some from an older
        // state, one truncated.
        for id in ids.prefix(4) { unlink(spool.layout.statusFile(id)) }
        for id in ids[4..<8] {
            var old = try #require(spool.status(id))
            old.status = .running
            old.updatedAt = "2020-01-01T00:00:00.000Z"
            try old.jsonData().write(to: URL(fileURLWithPath: spool.layout.statusFile(id)))
        }
        try Data("{\"process_id\": ".utf8).write(to: URL(fileURLWithPath: spool.layout.statusFile(ids[8])))
        #expect(try spool.statusFilesDifferingFromStore().count == 9)

        let second = try await spool.serveOnce()
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try spool.statusFilesDifferingFromStore() == [])
        #expect(second.standardError.contains("rewrote 9 status file(s)"), "\(second.standardError)")
    }

    @Test func statusFilesThatCannotBeWrittenWaitForRoomAndThenConverge() async throws {
        let spool = try TemporarySpool()
        // Only the spool is on the small filesystem: the store (elsewhere) commits, the status
        // files behind the commits cannot be written.
        let disk = try SmallFilesystem(at: spool.layout.root, sizeMiB: 4)
        defer { disk.unmount() }
        try spool.layout.create()
        let database = spool.root.appendingPathComponent("history.sqlite").path
        try spool.define("quick.yaml", Self.quick)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "200ms", "--db", database])
        try await runner.stopping(with: SIGKILL) {
            #expect(await spool.eventually { spool.heartbeat != nil })
            let ids = (0..<20).map { "full\($0)" }
            let staged = try ids.map { try Self.stage($0, in: spool) }
            disk.fillBlocks()
            for (id, path) in zip(ids, staged) { try Self.release(path, id, in: spool) }

            #expect(
                await spool.eventually { TemporarySpool.standardErrorSoFar(runner).contains("paused (disk_full)") },
                "\(TemporarySpool.standardErrorSoFar(runner).suffix(2000))")
            // The store went on; the files could not follow.
            #expect(
                await spool.eventually { ((try? spool.storeDocuments(database: database).count) ?? 0) == ids.count })
            #expect(try !spool.statusFilesDifferingFromStore(database: database).isEmpty)
            #expect(runner.process.isRunning)

            disk.free()
            try await spool.expectStatusFilesConverge(ids, database: database)
            #expect(ids.allSatisfy { spool.status($0)?.status == .success })
            let log = TemporarySpool.standardErrorSoFar(runner)
            #expect(log.contains("No space left on device"))
            #expect(log.contains("resumed"))
            runner.signal(SIGTERM)
            let result = await runner.wait()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        }
    }

    // MARK: - Helpers

    /// Writes a request into tmp/ now (while there is room), to rename into inbox/ later.
    static func stage(_ id: String, in spool: TemporarySpool, body: String = request()) throws -> String {
        let path = "\(spool.layout.tmp)/\(id).json"
        try body.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// Renames a staged request into inbox/: no new block or inode needed.
    static func release(_ path: String, _ id: String, in spool: TemporarySpool) throws {
        guard rename(path, "\(spool.layout.inbox)/\(id).json") == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}
