import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// The fleet test of SPEC §9, in small: three `serve --store` runners (the real binary), each in
    /// a PID namespace of its own when the test runs as root (`kill -9` of that namespace's init is
    /// the crash of a container: the runner and every task it started), work flowing while runners
    /// are killed, and then the store's invariants: nothing lost, nothing duplicated, a
    /// non-idempotent task never started twice, an idempotent one never run twice at once.
    @Suite(.serialized) struct FleetChaosTests {
        static let quick = """
            tasks:
              - name: a
                sleep: 5ms
              - name: b
                sleep: 5ms
            """
        static let once = """
            tasks:
              - name: pay
                idempotent: false
                shell: 'echo "start $SPOOL_PROCESS_ID pay" >> "$FLEET_LEDGER"; sleep 0.8; echo "end $SPOOL_PROCESS_ID pay" >> "$FLEET_LEDGER"'
            """
        static let steady = """
            tasks:
              - name: work
                shell: 'echo "start $SPOOL_PROCESS_ID work $(date +%s.%N)" >> "$FLEET_LEDGER"; sleep 1; echo "end $SPOOL_PROCESS_ID work $(date +%s.%N)" >> "$FLEET_LEDGER"'
            """

        @Test(.timeLimit(.minutes(3))) func threeRunnersKilledWhileWorkFlowsLoseAndDuplicateNothing() async throws {
            try await withStores("fleet_chaos", migrate: false) { stores in
                let db = stores[0]
                let shared = try FleetServeTests.sharedDirectory()
                let names = ["a", "b", "c"]
                let hosts = try names.map { try FleetHost($0, shared: shared) }
                for host in hosts {
                    try host.define("quick.yaml", Self.quick)
                    try host.define("once.yaml", Self.once)
                    try host.define("steady.yaml", Self.steady)
                }
                let contained = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
                if !contained {
                    print("fleet chaos: not root: runners run without PID namespaces (orphans may overlap)")
                }
                func start(_ host: FleetHost) throws {
                    try host.start(db.url, ["--max-tasks", "8"], contained: contained)
                }
                for host in hosts { try start(host) }
                // The load: valid requests round-robin over the three inboxes.
                var valid: [String: [FleetHost]] = [:]
                let types = ["quick", "once", "steady"]
                var next = 0
                // One wave now and one before each kill, so that work is running when runners die.
                func wave() throws {
                    for _ in 0..<18 {
                        let id = "r\(next)"
                        let host = hosts[next % 3]
                        try host.drop(id, #"{"process_type": "\#(types[(next / 3) % 3])"}"#)
                        valid[id] = [host]
                        next += 1
                    }
                }
                try wave()
                // The same bytes on two hosts: one process, a status file on both.
                for index in 0..<5 {
                    let id = "same\(index)"
                    let body = #"{"process_type": "quick"}"#
                    try hosts[0].drop(id, body)
                    try hosts[1].drop(id, body)
                    valid[id] = [hosts[0], hosts[1]]
                }
                // Invalid files, each rejected where it was dropped.
                for index in 0..<3 { try hosts[index].drop("bad\(index)", "{not json") }
                // Faults while the work flows: kill -9 a runner every 2-4 s, the leader among them.
                var kills: [(host: String, at: Date, leader: Bool)] = []
                var leftDown: FleetHost?
                for round in 0..<5 {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1200...2500)))
                    try wave()
                    // Into the wave: its tasks run when the runner dies.
                    try await Task.sleep(for: .milliseconds(Int.random(in: 500...900)))
                    let leaderID: String? = try? await db.value(
                        """
                        SELECT r.runner_id FROM runners r JOIN pg_stat_activity a
                          ON a.application_name = 'spoolrunner/' || r.runner_id || '/control'
                          JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                         LIMIT 1
                        """)
                    let victim =
                        round % 2 == 0
                        ? hosts.first { $0.name == leaderID && $0 !== leftDown } ?? hosts[round % 3]
                        : hosts[(round + 1) % 3]
                    guard victim !== leftDown, victim.runner?.isRunning == true else { continue }
                    if round == 3 {
                        // Files dropped just before the crash.
                        for index in 0..<5 {
                            let id = "late\(index)"
                            try victim.drop(id, #"{"process_type": "steady"}"#)
                            valid[id] = [victim]
                        }
                    }
                    kills.append((victim.name, Date(), victim.name == leaderID))
                    victim.runner?.kill(SIGKILL)
                    victim.runner?.wait()
                    if round == 1 {
                        leftDown = victim  // down for three leases: another runner must take over
                    } else {
                        try await Task.sleep(for: .milliseconds(500))
                        try start(victim)  // the same-host fast path
                    }
                    if round == 4, let down = leftDown {
                        try start(down)
                        leftDown = nil
                    }
                }
                if let down = leftDown { try start(down) }
                print("fleet chaos: kills \(kills.map { "\($0.host)\($0.leader ? "(leader)" : "")" })")
                // Every accepted process ends, within 60 s.
                let ended = await eventually(timeout: 60) {
                    let open: Int64? = try await db.value(
                        "SELECT count(*) FROM processes WHERE status IN ('pending', 'running')")
                    let inboxes = hosts.allSatisfy { host in
                        ((try? FileManager.default.contentsOfDirectory(atPath: host.spool + "/inbox")) ?? [])
                            .filter { $0.hasSuffix(".json") }.isEmpty
                    }
                    return open == 0 && inboxes
                }
                #expect(ended, "\(hosts.map { $0.runner?.log.suffix(1500) ?? "" }.joined(separator: "\n---\n"))")
                // Status files converge on every host the request was dropped on.
                let converged = await eventually(timeout: 30) {
                    for (id, droppedOn) in valid {
                        for host in droppedOn {
                            guard let status = host.status(id), status == "success" || status == "failed" else {
                                return false
                            }
                        }
                    }
                    return true
                }
                #expect(converged)
                for host in hosts { host.runner?.kill(SIGTERM) }
                for host in hosts { #expect(host.runner?.wait() == 0, "\(host.runner?.log.suffix(1500) ?? "")") }

                // Nothing lost, nothing duplicated.
                let ids: [String] = try await db.values("SELECT process_id FROM processes ORDER BY process_id")
                #expect(Set(ids) == Set(valid.keys))
                #expect(ids.count == valid.count)
                let open: Int64? = try await db.value(
                    "SELECT count(*) FROM processes WHERE status NOT IN ('success', 'failed', 'cancelled')")
                #expect(open == 0)
                for (id, droppedOn) in valid {
                    let stored: String? = try await db.value("SELECT status FROM processes WHERE process_id = \(id)")
                    for host in droppedOn {
                        #expect(
                            host.status(id) == stored,
                            "\(id) on \(host.name): \(host.logs.split(separator: "\n").filter { $0.contains(id) }.joined(separator: "\n"))"
                        )
                    }
                }
                let rejected: [String] = try await db.values(
                    "SELECT code || ' ' || file_name || ' ' || coalesce(runner_id, '-') FROM rejections ORDER BY file_name"
                )
                #expect(
                    rejected == ["invalid_json bad0.json a", "invalid_json bad1.json b", "invalid_json bad2.json c"])
                let doubleSuccess: Int64? = try await db.value(
                    """
                    SELECT count(*) FROM (SELECT process_id, task_name FROM events WHERE event = 'task_succeeded'
                                           GROUP BY 1, 2 HAVING count(*) > 1) x
                    """)
                #expect(doubleSuccess == 0)
                // Non-idempotent never twice; an end line exactly when it succeeded.
                let ledger = ((try? String(contentsOfFile: shared + "/ledger", encoding: .utf8)) ?? "")
                    .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                let onceIDs: [String] = try await db.values(
                    "SELECT process_id FROM processes WHERE process_type = 'once'")
                for id in onceIDs {
                    let starts = ledger.filter { $0.count >= 2 && $0[0] == "start" && $0[1] == id }.count
                    let ends = ledger.filter { $0.count >= 2 && $0[0] == "end" && $0[1] == id }.count
                    let status: String? = try await db.value(
                        "SELECT status FROM tasks WHERE process_id = \(id) AND task_name = 'pay'")
                    #expect(starts <= 1, "\(id) started \(starts) times")
                    if status == "success" { #expect(starts == 1 && ends == 1, "\(id)") }
                    if starts == 0 { #expect(status != "success", "\(id)") }
                }
                // Idempotent: never two runs of one task at once (under PID namespaces).
                if contained {
                    var intervals: [String: [(Double, Double?)]] = [:]
                    for line in ledger where line.count == 4 && line[2] == "work" {
                        let time = Double(line[3]) ?? 0
                        if line[0] == "start" {
                            intervals[line[1], default: []].append((time, nil))
                        } else if var list = intervals[line[1]], let open = list.lastIndex(where: { $0.1 == nil }) {
                            list[open].1 = time
                            intervals[line[1]] = list
                        }
                    }
                    for (id, list) in intervals {
                        let closed = list.compactMap { start, end in end.map { (start, $0) } }.sorted { $0.0 < $1.0 }
                        for (first, second) in zip(closed, closed.dropFirst()) {
                            #expect(first.1 <= second.0, "\(id): two runs at once")
                        }
                    }
                }
                // The faults really happened.
                let takeovers: Int64? = try await db.value("SELECT count(*) FROM events WHERE event = 'taken_over'")
                let recoveries: Int64? = try await db.value("SELECT count(*) FROM events WHERE event = 'recovered'")
                print(
                    "fleet chaos: \(valid.count) processes, \(takeovers ?? 0) taken over, \(recoveries ?? 0) recovered on the same host"
                )
                #expect((takeovers ?? 0) >= 1, "a runner left down for three leases had its work taken over")
                #expect((recoveries ?? 0) >= 1, "a runner restarted on its spool recovered its own work")
                let newOwners: Int64? = try await db.value(
                    """
                    SELECT count(*) FROM events t WHERE t.event = 'taken_over'
                       AND EXISTS (SELECT 1 FROM events s WHERE s.process_id = t.process_id AND s.id > t.id
                                     AND s.runner_id IS DISTINCT FROM t.detail_json->>'previous_runner')
                    """)
                #expect((newOwners ?? 0) >= 1)
                // A clean store.
                let owned: Int64? = try await db.value(
                    "SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL AND status NOT IN ('pending', 'running')"
                )
                #expect(owned == 0)
                let states: [String] = try await db.values("SELECT DISTINCT state FROM runners")
                #expect(states == ["stopped"])
                let orphans: Int64? = try await db.value(
                    "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM processes p WHERE p.process_id = e.process_id)"
                )
                #expect(orphans == 0)
            }
        }
    }
}
