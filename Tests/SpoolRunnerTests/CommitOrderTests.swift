import Foundation
import GRDB
import Synchronization
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The engine hands each batch to the store writer and goes on gathering the next one while it
/// commits (issue 9's pipelined group commit): the side effects of a batch must still wait for
/// its commit (SPEC §6). Another connection takes the store's write lock again and again, so
/// that every batch spends a while in flight; meanwhile the spool is watched, files first and
/// the store second, so anything seen on disk must already be in the store:
/// - a request gone from `inbox/` is a process in the store;
/// - a status file is never newer than its process's row;
/// - a task that ran (its marker file exists) is recorded as started.
@Suite(.endToEnd) struct CommitOrderTests {
    static let marking = """
        tasks:
          - name: first
            run: ["sh", "-c", "touch \\"$SPOOL_WORK_DIR/first\\""]
          - name: second
            mode: async
            run: ["sh", "-c", "touch \\"$SPOOL_WORK_DIR/second\\""]
          - name: third
            run: ["sh", "-c", "touch \\"$SPOOL_WORK_DIR/third\\""]
        """

    @Test func noSideEffectOfABatchIsSeenBeforeItsCommit() async throws {
        let spool = try TemporarySpool()
        try spool.define("marking.yaml", Self.marking)
        let runner = try spool.start(["serve", "--settle", "0s", "--rescan", "100ms"])
        _ = try await runner.stopping(with: SIGKILL) {
            try await Self.watch(spool)
        }
    }

    static func watch(_ spool: TemporarySpool) async throws {
        try spool.drop("warmup", #"{"process_type": "marking"}"#)
        try #require(await spool.eventually { spool.status("warmup")?.status == .success })

        let done = Atomic<Bool>(false)
        let holds = Atomic<Int>(0)
        let path = spool.layout.defaultDatabase
        let holder = Thread {
            // Holds the write lock 150 ms at a time: each commit waits that long in flight.
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return }
            while !done.load(ordering: .relaxed) {
                try? queue.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    usleep(150_000)
                    try db.execute(sql: "ROLLBACK")
                }
                holds.add(1, ordering: .relaxed)
                usleep(30_000)
            }
        }
        holder.start()
        defer { done.store(true, ordering: .relaxed) }

        var configuration = Configuration()
        configuration.readonly = true
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        let ids = (0..<40).map { String(format: "order%02d", $0) }
        var dropped: [String] = []
        var violations: [String] = []
        var waitingSeen = 0
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if dropped.count < ids.count, dropped.count % 2 == 0 || Int.random(in: 0..<3) == 0 {
                try spool.drop(ids[dropped.count], #"{"process_type": "marking"}"#)
                dropped.append(ids[dropped.count])
            }
            // Files first, then the store: what the files show happened before this read.
            let inbox = Set(spool.inboxFiles())
            var statuses: [String: String] = [:]
            var markers: [String: [String]] = [:]
            for id in dropped {
                if let document = spool.status(id) { statuses[id] = document.updatedAt }
                markers[id] =
                    (try? FileManager.default.contentsOfDirectory(atPath: spool.layout.workDirectory(id))) ?? []
            }
            let (rows, tasks) = try reader.read { db in
                (
                    try Row.fetchAll(db, sql: "SELECT process_id, updated_at FROM processes"),
                    try Row.fetchAll(db, sql: "SELECT process_id, task_name, status, attempts FROM tasks")
                )
            }
            let updatedAt = Dictionary(
                uniqueKeysWithValues: rows.map { ($0["process_id"] as String, $0["updated_at"] as String) })
            var started: Set<String> = []
            for task in tasks where (task["attempts"] as Int) >= 1 && (task["status"] as String) != "pending" {
                started.insert("\(task["process_id"] as String)/\(task["task_name"] as String)")
            }
            for id in dropped {
                let inInbox = inbox.contains("\(id).json")
                if !inInbox, updatedAt[id] == nil { violations.append("\(id) left inbox/ before its commit") }
                if inInbox, updatedAt[id] == nil { waitingSeen += 1 }
                if let shown = statuses[id], shown > (updatedAt[id] ?? "") {
                    violations.append(
                        "\(id)'s status file (updated \(shown)) is ahead of the store (\(updatedAt[id] ?? "none"))")
                }
                for task in markers[id] ?? [] where !started.contains("\(id)/\(task)") {
                    violations.append("\(id)/\(task) ran before its start was committed")
                }
            }
            if dropped.count == ids.count,
                ids.allSatisfy({ statuses[$0] != nil && spool.status($0)?.status == .success })
            {
                break
            }
            try await Task.sleep(for: .milliseconds(3))
        }
        done.store(true, ordering: .relaxed)
        #expect(violations.isEmpty, "\(violations.prefix(10))")
        #expect(ids.allSatisfy { spool.status($0)?.status == .success })
        #expect(spool.inboxFiles().isEmpty)
        // Not vacuous: commits did wait behind the lock while requests sat in inbox/.
        #expect(holds.load(ordering: .relaxed) > 3)
        #expect(waitingSeen > 0)
    }
}
