import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// A store another connection holds (`BEGIN EXCLUSIVE` past the busy timeout) is waited out:
/// the runner stays up, requests wait in inbox/, then all succeed.
///
/// The outside lock is held until the test has seen the pause (past the runner's 10 s busy
/// timeout), not for a fixed 30 s: the test then releases it.
@Suite(.endToEnd) struct BusyStoreTests {
    @Test(.waitsOnTimers) func anOutsideExclusiveLockPastTheBusyTimeoutIsWaitedOut() async throws {
        try Requirement.tool("sqlite3")
        let spool = try TemporarySpool()
        try spool.define("quick.yaml", StatusConvergenceTests.quick)
        try spool.define(
            "slow.yaml",
            """
            tasks:
              - name: nap
                sleep: 4s
            """)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "200ms"])
        try await runner.stopping(with: SIGKILL) {
            // A task that ends while the store is locked: its end must be recorded afterwards.
            try spool.drop("slow", StatusConvergenceTests.request("slow"))
            #expect(await spool.eventually { spool.status("slow")?.status == .running })

            let marker = spool.root.appendingPathComponent("locked").path
            let release = spool.root.appendingPathComponent("release").path
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            holder.arguments = ["sqlite3", spool.layout.defaultDatabase]
            let script = Pipe()
            holder.standardInput = script
            holder.standardOutput = FileHandle.nullDevice
            try holder.run()
            defer {
                // Also ends the shell loop below (at most 60 s) if the test stopped before it.
                _ = FileManager.default.createFile(atPath: release, contents: nil)
                if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
                holder.waitUntilExit()
            }
            script.fileHandleForWriting.write(
                Data(
                    """
                    .timeout 20000
                    BEGIN EXCLUSIVE;
                    .shell touch '\(marker)'
                    .shell i=0; while [ ! -e '\(release)' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
                    COMMIT;

                    """.utf8))
            try script.fileHandleForWriting.close()
            try #require(
                await spool.eventually(timeout: 30) { FileManager.default.fileExists(atPath: marker) },
                "sqlite3 never took the lock")

            let ids = (0..<10).map { "busy\($0)" }
            for id in ids { try spool.drop(id, StatusConvergenceTests.request()) }
            // Past the 10 s busy timeout, the runner reports the pause instead of exiting.
            #expect(
                await spool.eventually(timeout: 25) {
                    (spool.heartbeat?["paused"] as? [String: Any])?["reason"] as? String == "store_busy"
                }, "\(TemporarySpool.standardErrorSoFar(runner).suffix(2000))")
            #expect(runner.process.isRunning)
            #expect(Set(spool.inboxFiles()) == Set(ids.map { "\($0).json" }))
            #expect(ids.allSatisfy { spool.status($0) == nil })
            #expect(spool.status("slow")?.status == .running)

            #expect(FileManager.default.createFile(atPath: release, contents: nil))
            await DedicatedThread.run { holder.waitUntilExit() }
            try await spool.expectStatusFilesConverge(ids + ["slow"], timeout: 60)
            #expect((ids + ["slow"]).allSatisfy { spool.status($0)?.status == .success })
            #expect(spool.inboxFiles().isEmpty)
            #expect(await spool.eventually { spool.heartbeat?["paused"] is NSNull })
            let log = TemporarySpool.standardErrorSoFar(runner)
            #expect(
                log.components(separatedBy: "paused (store_busy)").count - 1 == 1,
                "logged once per change, not per retry: \(log.suffix(3000))")
            #expect(log.contains("resumed: store_busy is over"))
            runner.signal(SIGTERM)
            let result = await runner.wait()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        }
    }

    @Test func aStoreWriteThatFindsTheStoreBusySaysItIsToBeWaitedOut() async throws {
        let directory = NSTemporaryDirectory() + "spoolrunner-busy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/history.sqlite"
        let store = try SQLiteStore(path: path, busyTimeout: 0.2)
        // Another connection holds the write lock, on a thread of its own, while the store commits.
        let outside = try DatabaseQueue(path: path)
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? outside.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN EXCLUSIVE")
                locked.signal()
                release.wait()
                try db.execute(sql: "COMMIT")
            }
        }
        holder.start()
        // Waited for on a thread of its own: a pool thread blocked here is one fewer for the
        // store's commit below (and for every other test).
        await DedicatedThread.run { locked.wait() }
        let rejection = RejectionRecord(
            fileName: "x.json", receivedAt: Date(), code: .invalidJSON, message: "m")
        do {
            _ = try await store.commit(StoreBatch(rejections: [rejection]))
            Issue.record("the write went through an exclusive lock")
        } catch {
            #expect(error.code == .busy, "\(error)")
            #expect(error.isTransient && PauseReason(storeError: error) == .storeBusy)
            #expect(error.description.contains(path))
            #expect(error.cause is DatabaseError, "the SQLite error is kept as the cause")
        }
        release.signal()
        let outcome = try await store.commit(StoreBatch(rejections: [rejection]))
        #expect(outcome == .empty, "one runner never loses a process")
        #expect(try await store.rejections(RejectionQuery()).count == 1)
    }
}
