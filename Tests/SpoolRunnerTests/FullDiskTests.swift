import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// A full store or a full disk is waited out: the runner pauses intake and task starts, says so
/// in its log and runner.json, loses nothing, reports nothing as done that is not, and resumes
/// by itself once there is room. Each test mounts a small tmpfs (root only).
@Suite(.endToEnd) struct FullDiskTests {
    @Test func aFullStoreIsWaitedOutAndNoRequestIsLost() async throws {
        let spool = try TemporarySpool()
        // Only the store is on the small filesystem: runner.json can report the pause.
        let disk = try SmallFilesystem(at: spool.root.appendingPathComponent("db").path, sizeMiB: 16)
        defer { disk.unmount() }
        let database = "\(disk.path)/history.sqlite"
        try spool.define(
            "padded.yaml",
            """
            inputs:
              pad: {type: string}
            tasks:
              - name: only
                sleep: 10ms
            """)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "200ms", "--db", database])
        try await runner.stopping(with: SIGKILL) {
            try spool.drop("warmup", #"{"process_type": "padded", "pad": "x"}"#)
            #expect(await spool.eventually { spool.status("warmup")?.status == .success })

            disk.fillBlocks()
            // 8 KiB per request, kept twice (request and inputs): the WAL must grow, and cannot.
            let pad = String(repeating: "p", count: 8 * 1024)
            let ids = (0..<20).map { "big\($0)" }
            for id in ids { try spool.drop(id, #"{"process_type": "padded", "pad": "\#(pad)"}"#) }

            #expect(
                await spool.eventually {
                    (spool.heartbeat?["paused"] as? [String: Any])?["reason"] as? String == "store_full"
                }, "\(TemporarySpool.standardErrorSoFar(runner).suffix(2000))")
            let paused = try #require(spool.heartbeat?["paused"] as? [String: Any])
            #expect(paused["source"] as? String == "store")
            _ = try instant(paused["since"] as? String)
            // A request leaves inbox/ only once committed: each is in one place or the other, and
            // the ones the full store held back are still in inbox/ with no status file.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(runner.process.isRunning)
            let inbox = Set(spool.inboxFiles())
            let stored = Set(try spool.storeDocuments(database: database).keys)
            for id in ids {
                #expect(
                    inbox.contains("\(id).json") != stored.contains(id),
                    "\(id): in inbox \(inbox.contains("\(id).json")), in store \(stored.contains(id))")
                if inbox.contains("\(id).json") { #expect(spool.status(id) == nil) }
            }
            #expect(!inbox.isEmpty)
            let log = TemporarySpool.standardErrorSoFar(runner)
            #expect(
                log.components(separatedBy: "paused (store_full)").count - 1 == 1,
                "logged once per change, not per retry: \(log.suffix(3000))")

            disk.free()
            try await spool.expectStatusFilesConverge(ids + ["warmup"], database: database)
            #expect(ids.allSatisfy { spool.status($0)?.status == .success })
            #expect(spool.inboxFiles().isEmpty)
            #expect(await spool.eventually { spool.heartbeat?["paused"] is NSNull })
            let last = try #require(spool.heartbeat?["last_pause"] as? [String: Any])
            #expect(last["reason"] as? String == "store_full")
            _ = try instant(last["ended_at"] as? String)
            #expect((spool.heartbeat?["last_error"] as? [String: Any])?["reason"] as? String == "store_full")
            #expect(TemporarySpool.standardErrorSoFar(runner).contains("resumed: store_full is over"))
            runner.signal(SIGTERM)
            let result = await runner.wait()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        }
    }

    @Test func runningOutOfInodesDelaysTaskStartsInsteadOfFailingThem() async throws {
        let spool = try TemporarySpool()
        let disk = try SmallFilesystem(at: spool.layout.root, sizeMiB: 16, inodes: 400)
        defer { disk.unmount() }
        try spool.layout.create()
        let database = spool.root.appendingPathComponent("history.sqlite").path
        // Tasks that create no file of their own: only the runner's files need inodes.
        try spool.define(
            "command.yaml",
            """
            tasks:
              - name: first
                run: ["/bin/echo", "{\\"step\\": 1}"]
              - name: second
                shell: 'echo "{\\"step\\": 2}"'
            """)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "200ms", "--db", database])
        try await runner.stopping(with: SIGKILL) {
            try spool.drop("warmup", #"{"process_type": "command"}"#)
            #expect(await spool.eventually { spool.status("warmup")?.status == .success })

            let ids = (0..<8).map { "inode\($0)" }
            let staged = try ids.map {
                try StatusConvergenceTests.stage($0, in: spool, body: #"{"process_type": "command"}"#)
            }
            let used = disk.fillInodes()
            #expect(used > 0)
            for (id, path) in zip(ids, staged) { try StatusConvergenceTests.release(path, id, in: spool) }

            #expect(
                await spool.eventually { TemporarySpool.standardErrorSoFar(runner).contains("paused (disk_full)") },
                "\(TemporarySpool.standardErrorSoFar(runner).suffix(2000))")
            try await Task.sleep(for: .seconds(2))
            #expect(runner.process.isRunning)
            // No task failed for want of an inode, and the errors say what really happened.
            let failed = try spool.history(database: database) { db in
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT process_id || ':' || task_name || ':' || coalesce(error_json, '') FROM tasks WHERE status = 'failed'"
                )
            }
            #expect(failed.isEmpty)
            let log = TemporarySpool.standardErrorSoFar(runner)
            #expect(log.contains("No space left on device"), "\(log.suffix(2000))")
            #expect(!log.contains("No such file or directory"), "\(log.suffix(2000))")

            disk.free()
            try await spool.expectStatusFilesConverge(ids + ["warmup"], database: database)
            for id in ids {
                let status = spool.status(id)
                #expect(
                    status?.status == .success,
                    "\(id): \(String(data: spool.statusBytes(id) ?? Data(), encoding: .utf8) ?? "")")
                #expect(status?.tasks.map { $0.output?["step"] } == [.integer(1), .integer(2)])
            }
            runner.signal(SIGTERM)
            let result = await runner.wait()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        }
    }
}

extension FullDiskTests {
    @Test func aTaskStartWaitsForAFreeInodeThenRuns() async throws {
        let directory = NSTemporaryDirectory() + "spoolrunner-inodes-\(UUID().uuidString.prefix(8))"
        let disk = try SmallFilesystem(at: directory, sizeMiB: 4, inodes: 64)
        defer {
            disk.unmount()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let used = disk.fillInodes()
        #expect(used > 0)
        let pause = RunnerPause(logger: .init(label: "test"))
        let launch = TaskLaunch(
            processID: "p1", taskName: "greet", attempt: 1,
            action: .command(executable: "/bin/echo", arguments: [#"{"hello": "world"}"#]),
            environment: ["PATH=/usr/bin:/bin"], standardInput: Data("{}\n".utf8),
            workDirectory: "\(directory)/work/p1", logFile: "\(directory)/logs/p1/greet.1.log", timeout: nil)
        let run = Task { await TaskExecutor(pause: pause).run(launch, stop: StopHandle()) { _, _ in } }

        var waited = false
        for _ in 0..<500 where !waited {
            waited = pause.isActive(.taskStart)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(waited, "the start did not wait")
        let condition = try #require(pause.active.first { $0.source == .taskStart })
        #expect(condition.reason == .diskFull)
        #expect(condition.message.contains("No space left on device"), "\(condition.message)")
        #expect(condition.message.contains("\(directory)/work"), "\(condition.message)")

        disk.free()
        let outcome = await run.value
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(outcome.output == ["hello": .string("world")])
        #expect(!pause.isPaused)
        #expect(FileManager.default.fileExists(atPath: launch.logFile))
    }
}

extension FullDiskTests {
    @Test func aTaskLogThatFillsTheDiskPausesIntakeUntilThereIsRoom() async throws {
        let spool = try TemporarySpool()
        let disk = try SmallFilesystem(at: spool.layout.root, sizeMiB: 8)
        defer { disk.unmount() }
        try spool.layout.create()
        let database = spool.root.appendingPathComponent("history.sqlite").path
        // 16 MB of output into an 8 MiB filesystem; its last line is still its output.
        try spool.define(
            "loud.yaml",
            """
            tasks:
              - name: shout
                shell: 'head -c 16000000 /dev/zero | tr "\\\\0" a; echo; echo "{\\"done\\": true}"'
            """)
        try spool.define("quick.yaml", StatusConvergenceTests.quick)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "200ms", "--db", database])
        try await runner.stopping(with: SIGKILL) {
            let staged = try StatusConvergenceTests.stage("after", in: spool)
            try spool.drop("loud", StatusConvergenceTests.request("loud"))
            #expect(
                await spool.eventually { TemporarySpool.standardErrorSoFar(runner).contains("task_output") },
                "\(TemporarySpool.standardErrorSoFar(runner).suffix(2000))")
            try StatusConvergenceTests.release(staged, "after", in: spool)
            // The loud task ends (its output kept from the pipe), but nothing new starts or is taken.
            #expect(
                await spool.eventually {
                    (try? spool.history(database: database) { db in
                        try String.fetchOne(db, sql: "SELECT status FROM processes WHERE process_id = 'loud'")
                    }) == "success"
                })
            try await Task.sleep(for: .milliseconds(1500))
            #expect(spool.inboxFiles() == ["after.json"])
            #expect(runner.process.isRunning)

            try FileManager.default.removeItem(atPath: spool.layout.logDirectory("loud"))
            try await spool.expectStatusFilesConverge(["loud", "after"], database: database)
            #expect(spool.status("loud")?.tasks.first?.output == ["done": .bool(true)])
            #expect(spool.status("after")?.status == .success)
            #expect(TemporarySpool.standardErrorSoFar(runner).contains("resumed"))
            runner.signal(SIGTERM)
            let result = await runner.wait()
            #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        }
    }
}

extension TemporarySpool {
    /// `history` on a store given by path (`--db`).
    func history<T>(database: String, _ body: (Database) throws -> T) throws -> T {
        try DatabaseQueue(path: database).read(body)
    }
}
