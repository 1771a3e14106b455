import Foundation
import PostgresNIO
import SpoolRunner
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// Frozen runner (issue 13): one of three runners, the leader, running idempotent and
    /// `idempotent: false` tasks, is stopped with SIGSTOP for three leases (and until the others
    /// took its work over), then continued. Its tasks are separate processes, so they run on
    /// while it is frozen: the idempotent ones may overlap with their reruns elsewhere (allowed
    /// here, and reported), the others are never run again (they end `interrupted`). On SIGCONT
    /// its first look at its lease fences it: it stops its orphaned tasks at once, registers
    /// again and works; and the store is clean at the end.
    @Suite(.serialized) struct FleetFrozenRunnerTests {
        /// A trap on SIGTERM writes `term` with the time: when the frozen runner's fence stopped it.
        static func marked(_ task: String, _ body: String) -> String {
            let line = { (kind: String) in
                "echo \"\(kind) $SPOOL_PROCESS_ID \(task) $$ $(date +%s.%N)\" >> \"$FLEET_LEDGER\""
            }
            let script = "trap '\(line("term")); exit 143' TERM; \(line("start")); \(body); \(line("end"))"
            return script.replacingOccurrences(of: "'", with: "''")
        }
        static let idempotent = """
            tasks:
              - name: work
                shell: '\(marked("work", #"if [ "$SPOOL_ATTEMPT" = 1 ]; then sleep 30 & wait $!; else sleep 0.5; fi"#))'
            """
        static let once = """
            tasks:
              - name: pay
                idempotent: false
                shell: '\(marked("pay", "sleep 30 & wait $!"))'
            """
        static let quick = "tasks:\n  - name: a\n    sleep: 5ms\n  - name: b\n    sleep: 5ms\n"
        static let lease = 3.0

        @Test func aFrozenLeaderOfThreeIsFencedWhenItResumesAndNothingRunsTwice() async throws {
            try await withFleet(
                "fleet_frozen3", ["a", "b", "c"],
                definitions: ["idem.yaml": Self.idempotent, "once.yaml": Self.once, "quick.yaml": Self.quick]
            ) { db, fleet in
                let (a, b, c) = (fleet.hosts[0], fleet.hosts[1], fleet.hosts[2])
                let supervisor = fleet.supervisor(db.url, ["--max-tasks", "8", "--grace", "1s"])
                // b first: it leads, and it is the one frozen.
                try supervisor.release(b)
                #expect(
                    await eventually(timeout: 20) { b.heartbeat()?["leader"] as? Bool == true },
                    "\(b.logs.suffix(2000))")
                for host in [a, c] { try supervisor.release(host) }
                let watcher = Task { await supervisor.run() }
                defer { watcher.cancel() }

                let victims = ["i1", "i2", "i3", "p1", "p2"]
                for id in victims.prefix(3) { try b.drop(id, #"{"process_type": "idem"}"#) }
                for id in victims.suffix(2) { try b.drop(id, #"{"process_type": "once"}"#) }
                var quick: [(FleetHost, String)] = []
                for (index, host) in [a, b, c, a, b, c].enumerated() {
                    quick.append((host, "q\(index)"))
                    try host.drop("q\(index)", #"{"process_type": "quick"}"#)
                }
                // All five run on b (claimed on intake: it has free slots).
                var orphans: [Int32] = []
                #expect(
                    await eventually(timeout: 30) {
                        orphans = try await db.values(
                            """
                            SELECT pid FROM tasks WHERE process_id = ANY(\(victims)::text[]) AND status = 'running'
                               AND runner_id = 'b' AND pid IS NOT NULL
                            """)
                        return orphans.count == 5 && fleet.ledger.lines.filter { $0.first == "start" }.count == 5
                    }, "\(b.logs.suffix(3000))")
                let incarnation: Int64? = try await db.value(
                    "SELECT incarnation FROM runners WHERE runner_id = 'b'")

                supervisor.hold(b)
                b.runner?.kill(SIGSTOP)
                let frozenAt = Date()
                // Requests keep coming, on the frozen host too (they wait in its inbox).
                for (index, host) in [a, b, c, a, b, c].enumerated() {
                    quick.append((host, "f\(index)"))
                    try host.drop("f\(index)", #"{"process_type": "quick"}"#)
                }
                // Three leases, and until the others took its five processes over.
                try await Task.sleep(for: .seconds(3 * Self.lease))
                #expect(
                    await eventually(timeout: 40) {
                        let taken: Int64? = try await db.value(
                            """
                            SELECT count(DISTINCT process_id) FROM events WHERE event = 'taken_over'
                               AND process_id = ANY(\(victims)::text[]) AND detail_json->>'previous_runner' = 'b'
                            """)
                        return taken == 5
                    }, "a: \(a.logs.suffix(1500))\nc: \(c.logs.suffix(1500))")
                let leader = [a, c].first { $0.heartbeat()?["leader"] as? Bool == true }
                #expect(leader != nil, "a or c leads while b is frozen")
                let frozenFor = Date().timeIntervalSince(frozenAt)

                b.runner?.kill(SIGCONT)
                let resumedAt = Date()
                try supervisor.release(b)
                // Its first look at the lease fences it: every orphaned task stops at once.
                #expect(await eventually(timeout: 10) { orphans.allSatisfy { !isAlive($0) } }, "\(orphans)")
                let orphansGone = Date().timeIntervalSince(resumedAt)
                #expect(b.logs.contains("lease_lost: stopping"), "\(b.logs.suffix(3000))")
                // It registers again and works: what waited in its inbox runs.
                #expect(
                    await eventually(timeout: 30) {
                        let row: String? = try await db.value(
                            "SELECT state || ' ' || incarnation FROM runners WHERE runner_id = 'b'")
                        return row == "alive \((incarnation ?? 0) + 1)"
                    }, "\(b.logs.suffix(3000))")
                try b.drop("after", #"{"process_type": "quick"}"#)
                quick.append((b, "after"))
                #expect(
                    await eventually(timeout: 60) {
                        quick.allSatisfy { $0.0.status($0.1) == "success" }
                            && victims.allSatisfy { b.status($0) == "success" || b.status($0) == "failed" }
                    }, "\(quick.filter { $0.0.status($0.1) != "success" }.map(\.1))\n\(b.logs.suffix(2000))")
                let late = quick.filter { $0.0.status($0.1) != "success" }.map(\.1)
                if !late.isEmpty {
                    // What the store says of them, for the next look at this (a status file that
                    // stayed behind, or a process no runner holds).
                    let rows: [String] = try await db.values(
                        """
                        SELECT process_id || ' ' || status || ' ' || coalesce(owner_runner, '-') || ' ' || lease_epoch
                          FROM processes WHERE process_id = ANY(\(late)::text[])
                        """)
                    print("fleet frozen runner: not success on their host: \(late); in the store: \(rows)")
                }
                // The test's own SIGTERMs are not deaths: the supervisor must not restart them.
                for host in fleet.hosts { supervisor.hold(host) }
                for host in fleet.hosts { host.runner?.kill(SIGTERM) }
                for host in fleet.hosts { #expect(host.runner?.wait() == 0, "\(host.runner?.log.suffix(1500) ?? "")") }
                watcher.cancel()
                #expect(supervisor.deaths.isEmpty, "runners that died: \(supervisor.deaths)")

                // The idempotent ones ran again elsewhere and succeeded; the others ended
                // `interrupted`, started once, never ended.
                let outcomes: [String] = try await db.values(
                    """
                    SELECT p.process_id || ' ' || p.status || ' ' || coalesce(t.error_json->>'code', '-')
                      FROM processes p JOIN tasks t USING (process_id)
                     WHERE p.process_id = ANY(\(victims)::text[]) ORDER BY 1
                    """)
                #expect(
                    outcomes == [
                        "i1 success -", "i2 success -", "i3 success -", "p1 failed interrupted",
                        "p2 failed interrupted",
                    ])
                let ledger = fleet.ledger
                for id in ["p1", "p2"] {
                    #expect(ledger.lines(of: id, "pay", "start").count == 1, "\(id) started again")
                    #expect(ledger.lines(of: id, "pay", "end").isEmpty, "\(id) ended after its interruption")
                }
                let reran: [String] = try await db.values(
                    """
                    SELECT DISTINCT process_id || ' ' || runner_id FROM events
                     WHERE event = 'task_started' AND process_id = ANY(\(victims)::text[]) AND runner_id <> 'b'
                     ORDER BY 1
                    """)
                #expect(Set(reran.map { String($0.prefix(2)) }) == ["i1", "i2", "i3"], "\(reran)")
                // The orphans were stopped by b's fence (SIGTERM, their trap wrote `term`), not by
                // anything else, and after the resume.
                for id in victims {
                    let task = id.hasPrefix("i") ? "work" : "pay"
                    let starts = ledger.lines(of: id, task, "start")
                    let terms = ledger.lines(of: id, task, "term")
                    #expect(terms.count == 1 && terms.first?[3] == starts.first?[3], "\(id): \(starts) \(terms)")
                    if let term = terms.first.flatMap({ Double($0[4]) }) {
                        #expect(term >= resumedAt.timeIntervalSince1970 - 0.5, "\(id) stopped while b was frozen")
                    }
                }
                // Overlap of an idempotent task with its orphan: allowed here, reported.
                var overlaps: [String] = []
                for id in victims.prefix(3) {
                    let runs = ledger.lines(of: id, "work", "start")
                    guard runs.count == 2,
                        let orphanEnd = ledger.lines(of: id, "work", "term").first.flatMap({ Double($0[4]) }),
                        let rerun = Double(runs[1][4])
                    else { continue }
                    if rerun < orphanEnd {
                        overlaps.append("\(id) \(String(format: "%.1f", orphanEnd - rerun)) s")
                    }
                }
                let violations = try await FleetInvariants.violations(in: db)
                #expect(violations.isEmpty, "\(violations)")
                let terms = victims.compactMap { id in
                    ledger.lines(of: id, id.hasPrefix("i") ? "work" : "pay", "term").first.flatMap { Double($0[4]) }
                }
                let latestTerm = (terms.max() ?? resumedAt.timeIntervalSince1970) - resumedAt.timeIntervalSince1970
                print(
                    "fleet frozen runner: b frozen \(String(format: "%.1f", frozenFor)) s (lease \(Self.lease) s); orphans' SIGTERM at most \(String(format: "%.2f", latestTerm)) s after SIGCONT, all gone \(String(format: "%.2f", orphansGone)) s after (heartbeat lease/5 = \(Self.lease / 5) s); idempotent overlaps with their orphans: \(overlaps.isEmpty ? "none" : overlaps.joined(separator: ", ")); leader meanwhile \(leader?.name ?? "none")"
                )
            }
        }
    }
}
