import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `serve --prune-after` on the SQLite store: the runner prunes its own store and files in its
/// loop, the same path as a `prune` control message, and removes files the store no longer has.
/// Time runs on the schedule clock at 3600× (a pass, an hour apart for `--prune-after 30d`,
/// every real second); the test makes processes old by moving their times 40 days back, in the
/// store and on disk.
@Suite(.endToEnd) struct PruneAfterTests {
    @Test func theRunnerPrunesItsStoreAndFilesAndKeepsWhatStillExists() async throws {
        let spool = try TemporarySpool()
        let gate = spool.root.appendingPathComponent("gate").path
        try spool.define(
            "work.yaml", "tasks:\n  - name: make\n    shell: 'echo data > made.txt; echo \"{\\\"n\\\": 1}\"'\n")
        try spool.define(
            "gated.yaml", "tasks:\n  - name: wait\n    shell: 'while [ ! -f \(gate) ]; do sleep 0.1; done'\n")
        let now = Timestamp.string(Date())
        let runner = try spool.start(
            ["serve", "--rescan", "100ms", "--prune-after", "30d", "--log-level", "debug"],
            environment: [
                "SPOOLRUNNER_SCHEDULE_CLOCK": now, "SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR": now,
                "SPOOLRUNNER_SCHEDULE_CLOCK_RATE": "3600",
            ])
        let result = try await runner.stopping(with: SIGTERM) {
            let work = #"{"process_type": "work"}"#
            for id in ["old1", "old2", "recent"] { try spool.drop(id, work) }
            try spool.drop("live", #"{"process_type": "gated"}"#)
            for id in ["bad1", "bad2"] { try spool.drop(id, #"{"process_type": "nope"}"#) }
            #expect(
                await spool.eventually {
                    ["old1", "old2", "recent"].allSatisfy { spool.status($0)?.status == .success }
                        && spool.status("live")?.tasks.first?.status == .running
                        && spool.status("bad1")?.status == .rejected && spool.status("bad2")?.status == .rejected
                }, "\(TemporarySpool.standardErrorSoFar(runner))")
            // A status file of a process the store does not have (a prune stopped between its
            // commit and its files).
            let ghost = spool.layout.statusFile("ghost")
            try FileManager.default.copyItem(atPath: spool.layout.statusFile("recent"), toPath: ghost)
            // 40 days back: two processes and a rejection in the store, and on disk the files of
            // those and of every process that must stay (age on disk alone removes nothing).
            let longAgo = Date().addingTimeInterval(-40 * 86400)
            let stamp = Timestamp.string(longAgo)
            try Self.write(spool) { db in
                try db.execute(
                    sql: "UPDATE processes SET ended_at = ? WHERE process_id IN ('old1', 'old2')", arguments: [stamp])
                try db.execute(sql: "UPDATE processes SET created_at = ? WHERE process_id = 'live'", arguments: [stamp])
                try db.execute(
                    sql: "UPDATE rejections SET received_at = ? WHERE file_name = 'bad1.json'", arguments: [stamp])
            }
            for id in ["old1", "old2", "recent", "live", "ghost"] {
                for path in Self.files(of: id, in: spool) { Self.age(path, to: longAgo) }
            }
            for path in [
                spool.layout.rejected + "/bad1.json", spool.layout.rejected + "/bad1.json.error.json",
                spool.layout.statusFile("bad1"),
            ] { Self.age(path, to: longAgo) }

            #expect(
                await spool.eventually {
                    ["old1", "old2", "ghost"].allSatisfy { Self.files(of: $0, in: spool).isEmpty }
                        && (try? spool.processRowCount("old1")) == 0 && (try? spool.processRowCount("old2")) == 0
                        && !FileManager.default.fileExists(atPath: spool.layout.rejected + "/bad1.json")
                        && spool.status("bad1") == nil
                }, "\(TemporarySpool.standardErrorSoFar(runner))")
            // Through the loop, as a prune control message is.
            #expect(
                TemporarySpool.standardErrorSoFar(runner).contains("pruned 2 process(es) that ended before"),
                "\(TemporarySpool.standardErrorSoFar(runner))")
            let orphans = try spool.history { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE process_id IN ('old1', 'old2')")
            }
            #expect(orphans == 0)
            #expect(try spool.rejectionRows().map(\.file) == ["bad2.json"])

            // Accepted after the prunes began, then a few more passes.
            try spool.drop("late", work)
            #expect(await spool.eventually { spool.status("late")?.status == .success })
            let passes = TemporarySpool.standardErrorSoFar(runner).components(separatedBy: "prune: removed the files")
                .count
            #expect(
                await spool.eventually {
                    TemporarySpool.standardErrorSoFar(runner).components(separatedBy: "prune: removed the files").count
                        >= passes + 3
                })
            for id in ["recent", "live", "late"] {
                #expect(try spool.processRowCount(id) == 1, "\(id)")
                #expect(Self.files(of: id, in: spool).count == 3, "\(id)")
            }
            #expect(spool.status("bad2")?.status == .rejected)
            // The running process was never touched: it ends normally.
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(await spool.eventually { spool.status("live")?.status == .success })
        }
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
    }

    /// `--prune-after` is at least a minute, and not for `--once`.
    @Test func pruneAfterIsCheckedAtStart() async throws {
        let spool = try TemporarySpool()
        let short = try await spool.run(["serve", "--prune-after", "30s"])
        #expect(short.status == 64)
        #expect(short.standardError.contains("--prune-after must be at least 1m"), "\(short.standardError)")
        let once = try await spool.run(["serve", "--once", "--prune-after", "1d"])
        #expect(once.status == 64)
        #expect(once.standardError.contains("--prune-after needs a long-running serve"), "\(once.standardError)")
    }

    static func write(_ spool: TemporarySpool, _ body: (Database) throws -> Void) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase, configuration: configuration)
        try queue.write(body)
    }

    static func files(of id: String, in spool: TemporarySpool) -> [String] {
        [spool.layout.statusFile(id), spool.layout.logDirectory(id), spool.layout.workDirectory(id)].filter {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    static func age(_ path: String, to date: Date) {
        try? FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }
}
