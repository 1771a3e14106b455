import Foundation
import PostgresNIO
import SpoolRunner
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// `serve --prune-after` in a fleet of two runners on the real PostgreSQL: the leader prunes
    /// the store, each host removes its own files of the processes the store no longer has, and
    /// nothing that still exists (a recent process, a running one, a process accepted after the
    /// prunes began) loses a row or a file. Time runs on the schedule clock at 3600× (a prune
    /// pass, an hour apart for `--prune-after 30d`, every real second); the test makes processes
    /// old by moving their times 40 days back, in the store and on disk.
    @Suite(.serialized) struct FleetPruneTests {
        static let work = """
            tasks:
              - name: make
                shell: 'echo data > made.txt; echo "{\\"n\\": 1}"'
            """

        @Test func theLeaderPrunesTheStoreAndEveryHostItsOwnFiles() async throws {
            try await withFleet("fleet_prune", ["a", "b"], definitions: ["work.yaml": Self.work]) { db, fleet in
                let (a, b) = (fleet.hosts[0], fleet.hosts[1])
                let gate = fleet.shared + "/gate"
                try fleet.define(
                    "gated.yaml", "tasks:\n  - name: wait\n    shell: 'while [ ! -f \(gate) ]; do sleep 0.1; done'\n")
                let now = Timestamp.string(Date())
                let clock = [
                    "SPOOLRUNNER_SCHEDULE_CLOCK": now, "SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR": now,
                    "SPOOLRUNNER_SCHEDULE_CLOCK_RATE": "3600",
                ]
                let leader = try a.start(db.url, ["--prune-after", "30d"], environment: clock)
                #expect(
                    await eventually(timeout: 20) { a.heartbeat()?["leader"] as? Bool == true },
                    "\(leader.log.suffix(2000))")
                let follower = try b.start(db.url, ["--prune-after", "30d"], environment: clock)
                let work = #"{"process_type": "work"}"#
                for id in ["old1", "old2", "recent1", "dup"] { try a.drop(id, work) }
                for id in ["old3", "old4", "recent2", "dup"] { try b.drop(id, work) }
                try b.drop("live", #"{"process_type": "gated"}"#)
                for id in ["bad1", "bad2"] { try b.drop(id, #"{"process_type": "nope"}"#) }
                let finished =
                    ["old1", "old2", "recent1", "dup"].map { (a, $0) }
                    + ["old3", "old4", "recent2", "dup"].map { (b, $0) }
                #expect(
                    await eventually(timeout: 30) {
                        finished.allSatisfy { $0.0.status($0.1) == "success" } && b.status("bad1") == "rejected"
                            && b.status("bad2") == "rejected"
                    }, "\(leader.log.suffix(2000))\n\(follower.log.suffix(2000))")
                #expect(await eventually(timeout: 20) { b.status("live") == "running" })
                // A status file the store never had any more (a prune stopped between its commit
                // and its files): b's own pass removes it.
                let ghost = b.spool + "/outbox/ghost.json"
                try FileManager.default.copyItem(atPath: b.spool + "/outbox/recent2.json", toPath: ghost)

                // 40 days back: the old ones and the duplicate in the store, the running one's
                // creation, one rejection; on disk every file of them, and of the processes
                // that must stay (their age on disk alone must not remove them).
                let old = ["old1", "old2", "old3", "old4", "dup"]
                try await db.execute(
                    """
                    UPDATE processes SET created_at = created_at - interval '40 days',
                           started_at = started_at - interval '40 days', ended_at = ended_at - interval '40 days'
                     WHERE process_id = ANY(\(old)::text[])
                    """)
                try await db.execute(
                    "UPDATE processes SET created_at = created_at - interval '40 days' WHERE process_id = 'live'")
                try await db.execute(
                    "UPDATE rejections SET received_at = received_at - interval '40 days' WHERE file_name = 'bad1.json'"
                )
                let longAgo = Date().addingTimeInterval(-40 * 86400)
                for host in [a, b] {
                    for id in old + ["recent1", "recent2", "live", "ghost"] {
                        for path in Self.files(of: id, on: host) { Self.age(path, to: longAgo) }
                    }
                }
                for name in ["bad1.json", "bad1.json.error.json"] {
                    Self.age(b.spool + "/rejected/" + name, to: longAgo)
                }
                Self.age(b.spool + "/outbox/bad1.json", to: longAgo)

                // The leader deletes the old rows; each host then removes its own files of them.
                #expect(
                    await eventually(timeout: 30) {
                        let left: [String] = try await db.values(
                            "SELECT process_id FROM processes WHERE process_id = ANY(\(old)::text[])")
                        return left.isEmpty
                    }, "\(leader.log.suffix(3000))")
                #expect(
                    await eventually(timeout: 30) {
                        old.allSatisfy { id in [a, b].allSatisfy { Self.files(of: id, on: $0).isEmpty } }
                            && !FileManager.default.fileExists(atPath: ghost)
                            && !FileManager.default.fileExists(atPath: b.spool + "/rejected/bad1.json")
                            && !FileManager.default.fileExists(atPath: b.spool + "/outbox/bad1.json")
                    },
                    "a: \(Self.listing(a))\nb: \(Self.listing(b))\n\(leader.log.suffix(2000))\n\(follower.log.suffix(2000))"
                )
                let rejections: [String] = try await db.values("SELECT file_name FROM rejections ORDER BY file_name")
                #expect(rejections == ["bad2.json"])
                #expect(leader.log.contains("prune: deleted 5 process(es)"), "\(leader.log.suffix(3000))")
                // Only the leader prunes the store.
                #expect(!follower.log.contains("from the store"), "\(follower.log.suffix(3000))")

                // A process accepted after the prunes began, and a few more passes.
                try a.drop("late", work)
                #expect(await eventually(timeout: 30) { a.status("late") == "success" })
                let passes = leader.log.components(separatedBy: "prune: removed the files").count
                #expect(
                    await eventually(timeout: 30) {
                        leader.log.components(separatedBy: "prune: removed the files").count >= passes + 3
                    })
                // What must stay stayed: rows and every file (status, log, work) where dropped.
                let kept: [String] = try await db.values("SELECT process_id FROM processes ORDER BY process_id")
                #expect(kept == ["late", "live", "recent1", "recent2"])
                // The status file where it was dropped; the log and work directories where it ran
                // (the host that accepted it, unless the other one claimed it).
                for (host, id) in [(a, "recent1"), (a, "late"), (b, "recent2"), (b, "live")] {
                    #expect(host.status(id) != nil, "\(host.name) \(id): \(Self.listing(host))")
                    let ran = Set(
                        (Self.files(of: id, on: a) + Self.files(of: id, on: b)).map {
                            URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent
                        })
                    #expect(ran == ["outbox", "logs", "work"], "\(id): a: \(Self.listing(a))\nb: \(Self.listing(b))")
                }
                #expect(b.status("bad2") == "rejected")
                #expect(FileManager.default.fileExists(atPath: b.spool + "/rejected/bad2.json"))

                // The running process was never touched: it ends normally.
                _ = FileManager.default.createFile(atPath: gate, contents: nil)
                #expect(await eventually(timeout: 30) { b.status("live") == "success" })
                for runner in [leader, follower] {
                    runner.kill(SIGTERM)
                    #expect(runner.wait() == 0, "\(runner.log.suffix(2000))")
                }
            }
        }

        /// The status file, log directory and work directory of `id` on `host` that exist.
        static func files(of id: String, on host: FleetHost) -> [String] {
            ["\(host.spool)/outbox/\(id).json", "\(host.spool)/logs/\(id)", "\(host.spool)/work/\(id)"].filter {
                FileManager.default.fileExists(atPath: $0)
            }
        }

        static func age(_ path: String, to date: Date) {
            try? FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
        }

        static func listing(_ host: FleetHost) -> String {
            ["outbox", "logs", "work", "rejected"].map { directory in
                let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(host.spool)/\(directory)")) ?? []
                return "\(directory): \(names.sorted().joined(separator: " "))"
            }.joined(separator: "; ")
        }
    }
}
