import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// `serve --store`: the real binary on the real test PostgreSQL (SPEC §9), one to three runners,
    /// each with a spool of its own, `--lease 3s`.
    @Suite(.serialized) struct FleetServeTests {
        static let twoSteps = """
            tasks:
              - name: first
                shell: 'echo "$SPOOL_PROCESS_ID first" >> "$FLEET_LEDGER"'
              - name: second
                shell: 'echo "$SPOOL_PROCESS_ID second" >> "$FLEET_LEDGER"'
            """

        @Test func oneRunnerRunsProcessesOnPostgres() async throws {
            try await withFleet("fleet_one", ["alpha"], definitions: ["pair.yaml": Self.twoSteps]) { db, fleet in
                let host = fleet.host
                let runner = try host.start(db.url)
                for index in 1...5 { try host.drop("p\(index)", #"{"process_type": "pair"}"#) }
                let done = await eventually(timeout: 30) { (1...5).allSatisfy { host.status("p\($0)") == "success" } }
                #expect(done, "\(runner.log.suffix(3000))")
                // The store has them, finished, owned by nobody; their events name this runner.
                let statuses: [String] = try await db.values("SELECT status FROM processes ORDER BY process_id")
                #expect(statuses == Array(repeating: "success", count: 5))
                let owned: Int64? = try await db.value("SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL")
                #expect(owned == 0)
                let runners: [String] = try await db.values(
                    "SELECT DISTINCT runner_id FROM events WHERE runner_id IS NOT NULL")
                #expect(runners == ["alpha"])
                // runner.json says which store (password masked), as whom, and that it leads.
                let heartbeat = try #require(host.heartbeat())
                #expect(heartbeat["runner_id"] as? String == "alpha")
                #expect(heartbeat["store"] as? String == db.url.description)
                #expect(await eventually(timeout: 10) { host.heartbeat()?["leader"] as? Bool == true })
                #expect(heartbeat["lease_expires_at"] is String)
                // P7: at most 5 sessions (the pool's 4 and the one control connection that holds
                // the leader lock and every LISTEN), sampled while it idles after the work.
                for _ in 0..<10 {
                    let sessions: [String] = try await db.values(
                        """
                        SELECT application_name FROM pg_stat_activity
                         WHERE application_name LIKE 'spoolrunner/alpha%' AND datname = current_database()
                        """)
                    #expect(sessions.count <= 5, "\(sessions)")
                    #expect(sessions.filter { $0 == "spoolrunner/alpha/control" }.count == 1, "\(sessions)")
                    #expect(sessions.allSatisfy { $0 == "spoolrunner/alpha" || $0 == "spoolrunner/alpha/control" })
                    try await Task.sleep(for: .milliseconds(200))
                }
                // A changed definition, reloaded: `runners` shows its new hash.
                try host.define("pair.yaml", Self.twoSteps + "\n# changed\n")
                let changed = try String(contentsOfFile: host.definitions + "/pair.yaml", encoding: .utf8)
                let expected: String? = try await db.value(
                    "SELECT encode(sha256(convert_to(\(changed), 'UTF8')), 'hex')")
                #expect(
                    await eventually(timeout: 20) {
                        let shown: String? = try await db.value(
                            "SELECT definitions->>'pair' FROM runners WHERE runner_id = 'alpha'")
                        return shown != nil && shown == expected
                    }, "\(runner.log.suffix(2000))")
                // SIGTERM: exit 0, the runner marked stopped.
                runner.kill(SIGTERM)
                #expect(runner.wait() == 0, "\(runner.log.suffix(2000))")
                let state: String? = try await db.value("SELECT state FROM runners WHERE runner_id = 'alpha'")
                #expect(state == "stopped")
                let ledger = try String(contentsOfFile: fleet.shared + "/ledger", encoding: .utf8)
                #expect(ledger.split(separator: "\n").count == 10)
            }
        }

        /// The leader inserts a due schedule slot straight into the store (no file in its inbox);
        /// a runner claims it like any work, and the leader's host writes its status file.
        @Test func theLeaderSubmitsScheduleSlotsIntoTheStore() async throws {
            try await withFleet("fleet_schedule", ["alpha"]) { db, fleet in
                let host = fleet.host
                try host.define(
                    "tick.yaml",
                    "inputs:\n  who: {type: string}\nschedule:\n  - cron: \"* * * * *\"\n    inputs: {who: cron}\ntasks:\n  - name: nap\n    sleep: 1ms\n"
                )
                let runner = try host.start(
                    db.url, environment: ["SPOOLRUNNER_SCHEDULE_CLOCK": "2026-07-20T09:59:57Z"])
                let id = "tick-20260720T1000"
                #expect(
                    await eventually(timeout: 30) { host.status(id) == "success" }, "\(runner.log.suffix(3000))")
                #expect(runner.log.contains("schedule slot submitted to the store"), "\(runner.log.suffix(3000))")
                let accepted: String? = try await db.value(
                    "SELECT detail_json->>'slot' FROM events WHERE process_id = \(id) AND event = 'accepted'")
                #expect(accepted == "2026-07-20T10:00:00.000Z")
                let state: String? = try await db.value("SELECT last_process_id FROM schedule_state")
                #expect(state == id)
                let subscriber: String? = try await db.value(
                    "SELECT runner_id FROM subscriptions WHERE process_id = \(id)")
                #expect(subscriber == "alpha")
                runner.kill(SIGTERM)
                #expect(runner.wait() == 0)
            }
        }

        /// `serve --once --store`: takes back what its runner id still owns (a process its
        /// killed predecessor was running), runs everything dropped into its inbox to the end
        /// whatever `--max-tasks`, keeps its lease while tasks run longer than the lease, takes
        /// no one else's work, and exits 0 with the runner `stopped`.
        @Test func onceResumesItsOwnRunsWhatItAcceptsAndExits() async throws {
            try await withFleet("fleet_once", ["front", "solo"]) { db, fleet in
                let (front, solo) = (fleet.hosts[0], fleet.hosts[1])
                let nap = """
                    tasks:
                      - name: nap
                        shell: 'echo "$SPOOL_PROCESS_ID start $SPOOL_ATTEMPT" >> "$FLEET_LEDGER"; sleep 4; echo "$SPOOL_PROCESS_ID end $SPOOL_ATTEMPT" >> "$FLEET_LEDGER"'
                    """
                try fleet.define("nap.yaml", nap)
                let intake = try front.start(db.url, ["--max-tasks", "0"])
                // A runner of this spool dies while its task runs (a long lease: nobody takes the
                // process over meanwhile).
                let first = try solo.start(db.url, lease: "30s")
                try solo.drop("r0", #"{"process_type": "nap"}"#)
                #expect(
                    await eventually(timeout: 20) { fleet.ledgerLines.contains("r0 start 1") },
                    "\(first.log.suffix(2000))")
                var pids: [Int32] = []
                #expect(
                    await eventually(timeout: 10) {
                        pids = try await db.values("SELECT pid FROM tasks WHERE pid IS NOT NULL AND status = 'running'")
                        return pids.count == 1
                    })
                first.kill(SIGKILL)
                for pid in pids { kill(-pid, SIGKILL) }
                first.wait()
                // Someone else's work: accepted by an intake-only runner, claimed by nobody.
                try front.drop("other", #"{"process_type": "nap"}"#)
                #expect(
                    await eventually(timeout: 20) {
                        let status: String? = try await db.value(
                            "SELECT status FROM processes WHERE process_id = 'other'")
                        return status == "pending"
                    })
                for id in ["s1", "s2", "s3"] { try solo.drop(id, #"{"process_type": "nap"}"#) }
                // One task at a time, tasks of 4 s, a lease of 3 s: it must renew to finish.
                let once = try solo.start(db.url, lease: "3s", ["--once", "--max-tasks", "1"])
                #expect(once.wait(timeout: 90) == 0, "\(once.log.suffix(3000))")
                for id in ["r0", "s1", "s2", "s3"] {
                    #expect(solo.status(id) == "success", "\(id): \(once.log.suffix(2000))")
                    let status: String? = try await db.value("SELECT status FROM processes WHERE process_id = \(id)")
                    #expect(status == "success", "\(id)")
                }
                #expect(fleet.ledgerLines.contains("r0 start 2") && fleet.ledgerLines.contains("r0 end 2"))
                #expect(!once.log.contains("lease_lost"), "\(once.log.suffix(2000))")
                let runners: [String] = try await db.values(
                    "SELECT DISTINCT runner_id FROM events WHERE event = 'task_started' AND process_id <> 'other'")
                #expect(runners == ["solo"])
                // Someone else's work is left alone.
                let other: String? = try await db.value(
                    "SELECT status || ' ' || coalesce(owner_runner, 'unowned') FROM processes WHERE process_id = 'other'"
                )
                #expect(other == "pending unowned")
                #expect(!fleet.ledgerLines.contains { $0.hasPrefix("other ") })
                let state: String? = try await db.value("SELECT state FROM runners WHERE runner_id = 'solo'")
                #expect(state == "stopped")
                intake.kill(SIGTERM)
                #expect(intake.wait() == 0)
            }
        }

        /// A request with U+0000 in a string: PostgreSQL's jsonb cannot hold it, so a runner of a
        /// PostgreSQL store rejects it with a message saying so (SQLite keeps it); the runner goes
        /// on with the next request.
        @Test func aRequestWithNULIsRejectedClearly() async throws {
            try await withFleet("fleet_nul", ["alpha"]) { db, fleet in
                let host = fleet.host
                try host.define("note.yaml", "inputs:\n  note: {type: string}\ntasks:\n  - name: nap\n    sleep: 1ms\n")
                let runner = try host.start(db.url)
                try host.drop("nul1", #"{"process_type": "note", "note": "a\u0000b"}"#)
                try host.drop("fine1", #"{"process_type": "note", "note": "ab"}"#)
                #expect(
                    await eventually(timeout: 30) { host.status("fine1") == "success" }, "\(runner.log.suffix(2000))")
                #expect(
                    await eventually(timeout: 30) {
                        FileManager.default.fileExists(atPath: host.spool + "/rejected/nul1.json.error.json")
                    }, "\(runner.log.suffix(2000))")
                let error = try String(
                    contentsOfFile: host.spool + "/rejected/nul1.json.error.json", encoding: .utf8)
                #expect(error.contains("invalid_inputs") && error.contains("U+0000"), "\(error)")
                let code: String? = try await db.value("SELECT code FROM rejections WHERE file_name = 'nul1.json'")
                #expect(code == "invalid_inputs")
                let none: Int64? = try await db.value("SELECT count(*) FROM processes WHERE process_id = 'nul1'")
                #expect(none == 0)
                runner.kill(SIGTERM)
                #expect(runner.wait() == 0)
            }
        }

        /// A task whose output object holds U+0000: PostgreSQL's jsonb cannot keep it, so the
        /// attempt fails `invalid_json` naming the task and where the character is (not a commit
        /// that fails for ever); the process follows the failure rule, its rows and status file
        /// agree, and the runner goes on with the next request.
        @Test func aTaskOutputWithNULFailsTheTaskClearly() async throws {
            try await withFleet("fleet_nul_output", ["alpha"]) { db, fleet in
                let host = fleet.host
                let script = host.definitions + "/emit.sh"
                try "#!/bin/sh\ncat <<'EOF'\n{\"a\": {\"b\": \"x\\u0000y\"}}\nEOF\n".write(
                    toFile: script, atomically: true, encoding: .utf8)
                chmod(script, 0o755)
                try host.define(
                    "emit.yaml", "tasks:\n  - name: emit\n    run: [\"\(script)\"]\n  - name: after\n    sleep: 1ms\n")
                try host.define("fine.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
                let runner = try host.start(db.url)
                try host.drop("n1", #"{"process_type": "emit"}"#)
                #expect(await eventually(timeout: 30) { host.status("n1") == "failed" }, "\(runner.log.suffix(3000))")
                try host.drop("fine1", #"{"process_type": "fine"}"#)
                #expect(
                    await eventually(timeout: 30) { host.status("fine1") == "success" }, "\(runner.log.suffix(3000))")
                let rows: [String] = try await db.values(
                    """
                    SELECT task_name || ' ' || status || ' ' || coalesce(error_json->>'code', '-') || ' '
                           || coalesce(output_json::text, 'null')
                      FROM tasks WHERE process_id = 'n1' ORDER BY position
                    """)
                #expect(rows == ["emit failed invalid_json null", "after skipped - null"])
                let message: String? = try await db.value(
                    "SELECT error_json->>'message' FROM tasks WHERE process_id = 'n1' AND task_name = 'emit'")
                #expect(
                    message?.contains("task 'emit' printed an output object whose output.a.b holds U+0000") == true,
                    "\(message ?? "nil")")
                let process: String? = try await db.value(
                    "SELECT status || ' ' || (error_json->>'code') || ' ' || (error_json->>'task') FROM processes WHERE process_id = 'n1'"
                )
                #expect(process == "failed invalid_json emit")
                // The status file is the store's document, byte for byte.
                let shown = try await RunnersTests.spoolrunner([
                    "status", "n1", "--json", "--store", db.url.description,
                ])
                let file = try String(contentsOfFile: host.spool + "/outbox/n1.json", encoding: .utf8)
                #expect(shown.output == file)
                #expect(runner.log.contains("task output cannot be stored"), "\(runner.log.suffix(3000))")
                #expect(runner.isRunning, "\(runner.log.suffix(3000))")
                runner.kill(SIGTERM)
                #expect(runner.wait() == 0)
            }
        }

        /// A runner killed between moving a rejected file to `rejected/` and committing its row
        /// (SPOOLRUNNER_CRASH_AT=rejected): the next start on the spool records the row in the
        /// shared store, once.
        @Test func aRejectionCutOffByACrashIsRecordedByTheNextStart() async throws {
            try await withFleet("fleet_reject_crash", ["alpha"]) { db, fleet in
                let host = fleet.host
                try host.define("fine.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
                let crashed = try host.start(db.url, environment: ["SPOOLRUNNER_CRASH_AT": "rejected"])
                try host.drop("bad1", #"{"process_type": "nope"}"#)
                #expect(crashed.wait(timeout: 30) != 0)
                #expect(crashed.log.contains("SPOOLRUNNER_CRASH_AT=rejected"), "\(crashed.log.suffix(2000))")
                #expect(FileManager.default.fileExists(atPath: host.spool + "/rejected/bad1.json.error.json"))
                let none: Int64? = try await db.value("SELECT count(*) FROM rejections")
                #expect(none == 0)
                // Its client has its answer all the same: the status file is written before the move.
                #expect(host.status("bad1") == "rejected")
                let runner = try host.start(db.url)
                #expect(
                    await eventually(timeout: 30) {
                        let rows: [String] = try await db.values(
                            "SELECT file_name || ' ' || code || ' ' || coalesce(runner_id, '-') FROM rejections")
                        return rows == ["bad1.json unknown_process_type alpha"]
                    }, "\(runner.log.suffix(3000))")
                #expect(runner.log.contains("recording 1 rejection(s)"), "\(runner.log.suffix(3000))")
                try host.drop("fine1", #"{"process_type": "fine"}"#)
                #expect(await eventually(timeout: 30) { host.status("fine1") == "success" })
                runner.kill(SIGTERM)
                #expect(runner.wait() == 0)
                // A clean stop: the next start records nothing again.
                let again = try host.start(db.url)
                // runner.json of this runner: written once its start-up recovery is over.
                #expect(
                    await eventually(timeout: 20) {
                        (host.heartbeat()?["pid"] as? Int).map(Int32.init) == again.pid
                            && host.heartbeat()?["state"] as? String == "running"
                    })
                again.kill(SIGTERM)
                #expect(again.wait() == 0)
                let count: Int64? = try await db.value("SELECT count(*) FROM rejections")
                #expect(count == 1)
            }
        }

        static func sharedDirectory() throws -> String {
            let path = NSTemporaryDirectory() + "fleet-shared-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }
    }
}

extension Fleet {
    /// A runner killed with `kill -9` (its tasks with it, as in a container): after its lease, the
    /// leader's reaper hands its processes on, an idempotent task runs again elsewhere, and an
    /// `idempotent: false` one ends `interrupted`, never started twice (SPEC §6, §9).
    @Suite(.serialized) struct FleetTakeoverTests {
        static let steady = """
            tasks:
              - name: work
                shell: 'echo "$SPOOL_PROCESS_ID start $SPOOL_ATTEMPT" >> "$FLEET_LEDGER"; if [ "$SPOOL_ATTEMPT" = 1 ]; then sleep 60; fi; echo "$SPOOL_PROCESS_ID end $SPOOL_ATTEMPT" >> "$FLEET_LEDGER"'
            """
        static let once = """
            tasks:
              - name: pay
                idempotent: false
                shell: 'echo "$SPOOL_PROCESS_ID start" >> "$FLEET_LEDGER"; sleep 60; echo "$SPOOL_PROCESS_ID end" >> "$FLEET_LEDGER"'
            """

        @Test func killedRunnersProcessesAreTakenOverAfterItsLease() async throws {
            try await withFleet(
                "fleet_takeover", ["alpha", "beta"], definitions: ["steady.yaml": Self.steady, "once.yaml": Self.once]
            ) { db, fleet in
                let (alpha, beta) = (fleet.hosts[0], fleet.hosts[1])
                let first = try alpha.start(db.url)
                try alpha.drop("s1", #"{"process_type": "steady"}"#)
                try alpha.drop("o1", #"{"process_type": "once"}"#)
                #expect(
                    await eventually(timeout: 20) {
                        fleet.ledgerLines.contains("s1 start 1") && fleet.ledgerLines.contains("o1 start")
                    },
                    "\(first.log.suffix(3000))")
                let second = try beta.start(db.url)
                #expect(
                    await eventually(timeout: 15) {
                        let state: String? = try await db.value("SELECT state FROM runners WHERE runner_id = 'beta'")
                        return state == "alive"
                    })
                // The crash of a container: the runner and every task it started.
                var pids: [Int32] = []
                #expect(
                    await eventually(timeout: 10) {
                        pids = try await db.values("SELECT pid FROM tasks WHERE pid IS NOT NULL AND status = 'running'")
                        return pids.count == 2
                    })
                let killedAt = Date()
                first.kill(SIGKILL)
                for pid in pids { kill(-pid, SIGKILL) }
                first.wait()
                let finished = await eventually(timeout: 40) {
                    let open: Int64? = try await db.value(
                        "SELECT count(*) FROM processes WHERE status NOT IN ('success', 'failed')")
                    return open == 0
                }
                #expect(finished, "\(second.log.suffix(4000))")
                let takeover = Date().timeIntervalSince(killedAt)
                print(
                    "fleet takeover: both processes final \(String(format: "%.1f", takeover)) s after kill -9 (lease 3s)"
                )
                let s1: String? = try await db.value("SELECT status FROM processes WHERE process_id = 's1'")
                let o1: String? = try await db.value("SELECT status FROM processes WHERE process_id = 'o1'")
                #expect(s1 == "success")
                #expect(o1 == "failed")
                let o1Code: String? = try await db.value(
                    "SELECT error_json->>'code' FROM processes WHERE process_id = 'o1'")
                #expect(o1Code == "interrupted")
                // Reran on beta; the non-idempotent task started once, anywhere.
                let s1Runner: String? = try await db.value(
                    "SELECT runner_id FROM events WHERE process_id = 's1' AND event = 'task_succeeded'")
                #expect(s1Runner == "beta")
                #expect(fleet.ledgerLines.filter { $0 == "o1 start" }.count == 1)
                #expect(fleet.ledgerLines.filter { $0.hasPrefix("s1 end") } == ["s1 end 2"])
                let takenOver: [String] = try await db.values(
                    "SELECT process_id FROM events WHERE event = 'taken_over' ORDER BY process_id")
                #expect(takenOver == ["o1", "s1"])
                let previous: [String] = try await db.values(
                    "SELECT DISTINCT detail_json->>'previous_runner' FROM events WHERE event = 'taken_over'")
                #expect(previous == ["alpha"])
                let alphaState: String? = try await db.value("SELECT state FROM runners WHERE runner_id = 'alpha'")
                #expect(alphaState == "dead")
                second.kill(SIGTERM)
                #expect(second.wait() == 0)
            }
        }

        @Test func sameHostRestartRecoversAtOnceAndKillsTheOrphanFirst() async throws {
            try await withFleet("fleet_restart", ["alpha"]) { db, fleet in
                let alpha = fleet.host
                try alpha.define("steady.yaml", Self.steady)
                // A long lease: only the fast path can recover within the test's bounds.
                let first = try alpha.start(db.url, lease: "60s")
                try alpha.drop("s1", #"{"process_type": "steady"}"#)
                #expect(
                    await eventually(timeout: 20) { fleet.ledgerLines.contains("s1 start 1") },
                    "\(first.log.suffix(3000))")
                // Its pid is committed once it has spawned.
                var orphan: Int32?
                #expect(
                    await eventually(timeout: 10) {
                        orphan = try await db.value("SELECT pid FROM tasks WHERE process_id = 's1' AND pid IS NOT NULL")
                        return orphan != nil
                    })
                // Only the runner dies: its task is orphaned, still running.
                first.kill(SIGKILL)
                first.wait()
                let orphanPID = try #require(orphan)
                #expect(isAlive(orphanPID))
                let restartedAt = Date()
                let second = try alpha.start(db.url, lease: "60s")
                let done = await eventually(timeout: 20) { alpha.status("s1") == "success" }
                #expect(done, "\(second.log.suffix(4000))")
                print(
                    "fleet same-host restart: s1 final \(String(format: "%.1f", Date().timeIntervalSince(restartedAt))) s after the restart (lease 60s)"
                )
                // The orphan was killed before the rerun: it never wrote its end.
                #expect(fleet.ledgerLines.filter { $0.hasPrefix("s1 end") } == ["s1 end 2"])
                #expect(!isAlive(orphanPID))
                let recovered: Int64? = try await db.value(
                    "SELECT count(*) FROM events WHERE process_id = 's1' AND event = 'recovered'")
                #expect(recovered == 1)
                second.kill(SIGTERM)
                #expect(second.wait() == 0)
            }
        }
    }
}

extension Fleet {
    /// An intake-only runner (`--max-tasks 0`) accepts and writes status files, and another runner
    /// runs the work (SPEC §9: status files are written on the host where the request was dropped).
    @Suite(.serialized) struct FleetIntakeOnlyTests {
        @Test func intakeOnlyRunnerAcceptsAndAnotherRunsTheWork() async throws {
            try await withFleet(
                "fleet_intake", ["front", "worker"], definitions: ["pair.yaml": FleetServeTests.twoSteps]
            ) { db, fleet in
                let (front, worker) = (fleet.hosts[0], fleet.hosts[1])
                let intake = try front.start(db.url, ["--max-tasks", "0"])
                // Without notifications: the worker finds the work by its 1 s poll.
                let runner = try worker.start(db.url, ["--notify", "off"])
                let ids = (1...6).map { "q\($0)" }
                for id in ids { try front.drop(id, #"{"process_type": "pair"}"#) }
                let done = await eventually(timeout: 40) { ids.allSatisfy { front.status($0) == "success" } }
                #expect(done, "\(intake.log.suffix(2000))\n---\n\(runner.log.suffix(2000))")
                // Every task ran on the worker; the front never owns anything, never writes the
                // worker's status files.
                let runners: [String] = try await db.values(
                    "SELECT DISTINCT runner_id FROM events WHERE event = 'task_started'")
                #expect(runners == ["worker"])
                let owned: Int64? = try await db.value("SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL")
                #expect(owned == 0)
                #expect(ids.allSatisfy { worker.status($0) == nil })
                let inbox = try FileManager.default.contentsOfDirectory(atPath: front.spool + "/inbox")
                #expect(inbox.filter { $0.hasSuffix(".json") }.isEmpty)
                for process in [intake, runner] { process.kill(SIGTERM) }
                #expect(intake.wait() == 0)
                #expect(runner.wait() == 0)
            }
        }
    }
}

extension Fleet {
    /// The runner executing a process tells the host where it was dropped each time it commits
    /// a change (`NOTIFY spoolrunner_s_<runner hash>`): that host's status file follows with
    /// reconciliation set to once an hour, so only the notifications can move it.
    @Suite(.serialized) struct FleetStatusNotifyTests {
        @Test func statusFilesOnTheIntakeHostFollowTheExecutingRunner() async throws {
            try await withFleet("fleet_status_notify", ["front", "worker"]) { db, fleet in
                let (front, worker) = (fleet.hosts[0], fleet.hosts[1])
                let gated = """
                    tasks:
                      - name: first
                        shell: 'true'
                      - name: second
                        shell: 'while [ ! -e "$FLEET_LEDGER.gate" ]; do sleep 0.05; done'
                    """
                try fleet.define("gated.yaml", gated)
                let intake = try front.start(
                    db.url, ["--max-tasks", "0"], environment: ["SPOOLRUNNER_STATUS_CHECK": "1h"])
                let runner = try worker.start(db.url)
                try front.drop("g1", #"{"process_type": "gated"}"#)
                #expect(
                    await eventually(timeout: 30) { front.status("g1") == "running" },
                    "\(intake.log.suffix(2000))\n---\n\(runner.log.suffix(2000))")
                _ = FileManager.default.createFile(atPath: fleet.shared + "/ledger.gate", contents: nil)
                #expect(
                    await eventually(timeout: 30) { front.status("g1") == "success" },
                    "\(intake.log.suffix(2000))\n---\n\(runner.log.suffix(2000))")
                // The bytes of the status document the store gives, from the same code.
                let stored = try await RunnersTests.spoolrunner([
                    "status", "g1", "--store", db.url.description, "--json",
                ])
                let file = try String(contentsOfFile: front.spool + "/outbox/g1.json", encoding: .utf8)
                #expect(stored.status == 0 && stored.output == file)
                // The executing runner writes none: the request was not dropped on its host.
                #expect(worker.status("g1") == nil)
                for process in [intake, runner] { process.kill(SIGTERM) }
                #expect(intake.wait() == 0)
                #expect(runner.wait() == 0)
            }
        }
    }

    /// `cancel` and `retry` dropped on one host act on a process another host runs (SPEC §9).
    @Suite(.serialized) struct FleetControlTests {
        @Test func cancelAndRetryFromTheHostWhereTheRequestWasDropped() async throws {
            try await withFleet(
                "fleet_control", ["front", "worker"], definitions: ["steady.yaml": FleetTakeoverTests.steady]
            ) { db, fleet in
                let (front, worker) = (fleet.hosts[0], fleet.hosts[1])
                let intake = try front.start(db.url, ["--max-tasks", "0"])
                let runner = try worker.start(db.url)
                try front.drop("c1", #"{"process_type": "steady"}"#)
                #expect(
                    await eventually(timeout: 20) { fleet.ledgerLines.contains("c1 start 1") },
                    "\(runner.log.suffix(2000))")
                // Cancel on the front host; the worker stops the task.
                // (`spoolrunner cancel` checks the local SQLite history first: a host of a fleet has
                // none, so the control file is dropped as a client would.)
                try front.control("cancel-c1", #"{"action": "cancel", "process_id": "c1"}"#)
                #expect(
                    await eventually(timeout: 20) { front.status("c1") == "cancelled" },
                    "\(intake.log.suffix(2000))\n---\n\(runner.log.suffix(2000))")
                let status: String? = try await db.value("SELECT status FROM processes WHERE process_id = 'c1'")
                #expect(status == "cancelled")
                #expect(!fleet.ledgerLines.contains("c1 end 1"))
                // Retry on the front host: it runs again on the worker, to the end this time.
                try front.control("retry-c1", #"{"action": "retry", "process_id": "c1"}"#)
                #expect(
                    await eventually(timeout: 30) { front.status("c1") == "success" },
                    "\(intake.log.suffix(2000))\n---\n\(runner.log.suffix(2000))")
                #expect(fleet.ledgerLines.contains("c1 end 2"))
                for process in [intake, runner] { process.kill(SIGTERM) }
                #expect(intake.wait() == 0)
                #expect(runner.wait() == 0)
            }
        }

        /// `spoolrunner cancel|retry ID --store URL --wait` from a directory with no spool: the
        /// runner that holds the process is asked through the store and stops its task; the
        /// retry sets it back to pending for the fleet; the status file on the host where the
        /// request was dropped follows both.
        @Test func cancelAndRetryThroughTheStoreFromAnywhere() async throws {
            try await withFleet(
                "fleet_control_store", ["front", "worker"], definitions: ["steady.yaml": FleetTakeoverTests.steady]
            ) { db, fleet in
                let (front, worker) = (fleet.hosts[0], fleet.hosts[1])
                let intake = try front.start(db.url, ["--max-tasks", "0"])
                let runner = try worker.start(db.url)
                try front.drop("c2", #"{"process_type": "steady"}"#)
                #expect(
                    await eventually(timeout: 20) { fleet.ledgerLines.contains("c2 start 1") },
                    "\(runner.log.suffix(2000))")
                let nowhere = fleet.shared + "/nowhere"
                try FileManager.default.createDirectory(atPath: nowhere, withIntermediateDirectories: true)
                let cancel = try await RunnersTests.spoolrunner(
                    ["cancel", "c2", "--store", db.url.description, "--wait"], directory: nowhere)
                #expect(cancel.status == 0, "\(cancel.output)\(cancel.error)\n---\n\(runner.log.suffix(2000))")
                #expect(cancel.output.contains("runner worker holds it"), "\(cancel.output)")
                #expect(cancel.output.contains("c2: cancelled"), "\(cancel.output)")
                #expect(
                    await eventually(timeout: 20) { front.status("c2") == "cancelled" }, "\(intake.log.suffix(2000))")
                #expect(!fleet.ledgerLines.contains("c2 end 1"))
                let retry = try await RunnersTests.spoolrunner(
                    ["retry", "c2", "--store", db.url.description, "--wait"], directory: nowhere)
                #expect(retry.status == 0, "\(retry.output)\(retry.error)\n---\n\(runner.log.suffix(2000))")
                #expect(retry.output.contains("c2: success"), "\(retry.output)")
                #expect(fleet.ledgerLines.contains("c2 end 2"))
                #expect(
                    await eventually(timeout: 20) { front.status("c2") == "success" }, "\(intake.log.suffix(2000))")
                for process in [intake, runner] { process.kill(SIGTERM) }
                #expect(intake.wait() == 0)
                #expect(runner.wait() == 0)
            }
        }
    }
}
