import Foundation
import PostgresNIO
import SpoolRunner
import SpoolStorePostgres
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Fleet {
    /// The fleet test of SPEC §9: three `serve --store` runners (the real binary) on one test
    /// PostgreSQL, each with its own spool, `--lease 3s --max-tasks 8`; work flowing while runners
    /// are killed (the leader among them, one right after files were dropped in its inbox, one
    /// left down for three leases, one without a supervisor so that its tasks are orphaned), a
    /// poison request that kills its runner, a schedule at 60×; and then the store's invariants:
    /// nothing lost, nothing duplicated, a non-idempotent task never started twice, an idempotent
    /// one never run twice at once, and the faults really happened.
    ///
    /// Hosts a and b run in a PID namespace of their own when the test is root (`kill -9` of the
    /// namespace's init is the crash of a container: the runner and every task it started); host
    /// c runs as a plain process, so a kill leaves its tasks running and its restart must kill them.
    @Suite(.serialized) struct FleetChaosTests {
        static let quick = """
            tasks:
              - name: a
                sleep: 5ms
              - name: b
                sleep: 5ms
              - name: c
                sleep: 5ms
            """
        /// One `write` per line (`echo` of one line, O_APPEND): start and end never interleave.
        static let once = """
            tasks:
              - name: pay
                idempotent: false
                shell: 'echo "start $SPOOL_PROCESS_ID pay $$ $(date +%s.%N)" >> "$FLEET_LEDGER"; sleep 0.2; echo "end $SPOOL_PROCESS_ID pay $$ $(date +%s.%N)" >> "$FLEET_LEDGER"'
            """
        static let steady = """
            tasks:
              - name: work
                shell: 'echo "start $SPOOL_PROCESS_ID work $$ $(date +%s.%N)" >> "$FLEET_LEDGER"; sleep 1.5; echo "end $SPOOL_PROCESS_ID work $$ $(date +%s.%N)" >> "$FLEET_LEDGER"'
            """
        /// Kills the runner that runs it: recovery runs it again (it is idempotent), until the
        /// crash-loop guard ends it.
        static let poison = """
            tasks:
              - name: bite
                retry: {max_attempts: 5}
                shell: 'kill -9 $PPID; sleep 5'
            """
        static let tick = """
            schedule:
              - cron: "* * * * *"
                catch_up: all
                overlap: allow
            tasks:
              - name: tock
                sleep: 5ms
            """
        static let lease = 3.0
        /// `scripts/pg-chaos.sh` runs this test bigger: FLEET_CHAOS_REQUESTS requests (300 here),
        /// FLEET_CHAOS_KILLS kills (6 here: a kill per step of about 2.5 s).
        static let requestCount = Int(ProcessInfo.processInfo.environment["FLEET_CHAOS_REQUESTS"] ?? "") ?? 300
        static let killTarget = Int(ProcessInfo.processInfo.environment["FLEET_CHAOS_KILLS"] ?? "") ?? 6
        static let steps = killTarget <= 6 ? 10 : killTarget + 6
        /// How long everything may take to end once the load is in: a minute, more for a big run.
        static let drainLimit = 60 + Double(requestCount) / 20
        static var timeLimit: TimeLimitTrait.Duration {
            .minutes(5 + Int64(Double(requestCount) / 200) + Int64(killTarget / 4))
        }
        static let finalStatuses: Set<String> = ["success", "failed", "cancelled"]

        /// What a kill was, for the checks and the timings.
        struct Kill {
            enum Kind: String {
                case fastRestart = "restarted after 0.5 s"
                case leaderDown = "restarted after 6.5 s (the leadership moves)"
                case leftDown = "left down 3 leases"
                case orphans = "no namespace, restarted after 0.5 s"
            }
            var host: String
            var at: Date
            var leader: Bool
            var kind: Kind
            var afterDrop: Bool
            /// Its unfinished processes when it died.
            var owned: [String]
        }

        @Test(.timeLimit(Self.timeLimit)) func threeRunnersKilledWhileWorkFlowsLoseAndDuplicateNothing() async throws {
            try await withStores("fleet_chaos", migrate: false) { stores in
                let began = Date()
                let db = stores[0]
                let shared = try FleetServeTests.sharedDirectory()
                let hosts = try ["a", "b", "c"].map { try FleetHost($0, shared: shared) }
                for host in hosts {
                    for (name, yaml) in [
                        ("quick", Self.quick), ("once", Self.once), ("steady", Self.steady), ("poison", Self.poison),
                        ("tick", Self.tick),
                    ] {
                        try host.define("\(name).yaml", yaml)
                    }
                }
                let contained = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
                if !contained {
                    print("fleet chaos: not root: runners run without PID namespaces (orphans may overlap)")
                }
                let (a, b, c) = (hosts[0], hosts[1], hosts[2])
                // The schedule clock: 2026-01-01T00:00:30Z now, 60 times the real pace, the same on
                // every runner whenever it starts.
                let clock = [
                    "SPOOLRUNNER_SCHEDULE_CLOCK": "2026-01-01T00:00:30Z",
                    "SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR": Timestamp.string(Date()),
                    "SPOOLRUNNER_SCHEDULE_CLOCK_RATE": "60",
                ]
                let url = db.url
                let supervisor = FleetSupervisor(hosts: hosts) { host in
                    try host.start(
                        url, ["--max-tasks", "8", "--settle", "500ms"], contained: contained && host.name != "c",
                        environment: clock)
                }
                for host in hosts { try supervisor.release(host) }
                let leaders = LeaderSamples()
                let watchers = Task {
                    await withDiscardingTaskGroup { group in
                        group.addTask { await supervisor.run() }
                        group.addTask { await leaders.sample(db) }
                    }
                }
                defer { watchers.cancel() }
                func ownedUnfinished(_ host: FleetHost) async throws -> [String] {
                    try await db.values(
                        """
                        SELECT process_id FROM processes
                         WHERE owner_runner = \(host.name) AND status IN ('pending', 'running')
                        """)
                }

                // The load: valid requests round-robin over the three inboxes, each type on each host.
                var valid: [String: [FleetHost]] = [:]
                var dropped: [String: [(host: FleetHost, body: String)]] = [:]
                var expectedRejections: [String] = []
                let types = ["quick", "once", "steady"]
                var next = 0
                func drop(_ id: String, _ body: String, on host: FleetHost) throws {
                    try host.drop(id, body)
                    dropped[id, default: []].append((host, body))
                }
                func wave(_ count: Int) throws {
                    for _ in 0..<count where next < Self.requestCount {
                        let id = String(format: "r%04d", next)
                        let host = hosts[next % 3]
                        try drop(id, #"{"process_type": "\#(types[(next / 3) % 3])"}"#, on: host)
                        valid[id] = [host]
                        next += 1
                    }
                }
                // Extra drops per step: 15 ids with the same bytes on two hosts (at once for the
                // first ones: the hosts race), 5 ids with other bytes on a second host once the
                // first is in, 5 invalid files.
                func extras(step: Int) throws {
                    if step < 5 {
                        for index in (step * 3)..<(step * 3 + 3) {
                            let id = "same\(index)"
                            let body = #"{"process_type": "\#(index % 2 == 0 ? "quick" : "steady")"}"#
                            try drop(id, body, on: hosts[index % 3])
                            try drop(id, body, on: hosts[(index + 1) % 3])
                            valid[id] = [hosts[index % 3], hosts[(index + 1) % 3]]
                        }
                    }
                    if step == 0 {
                        for index in 0..<5 {
                            try drop("conflict\(index)", #"{"process_type": "quick"}"#, on: hosts[index % 3])
                            valid["conflict\(index)"] = [hosts[index % 3]]
                        }
                        for index in 0..<5 {
                            let invalid = index < 3 ? "{not json" : #"{"process_type": "nope"}"#
                            try drop("bad\(index)", invalid, on: hosts[index % 3])
                            expectedRejections.append(
                                "bad\(index).json \(index < 3 ? "invalid_json" : "unknown_process_type") \(hosts[index % 3].name)"
                            )
                        }
                    }
                    if step == 2 {
                        for index in 0..<5 {
                            try drop("conflict\(index)", #"{"process_type":"quick"}"#, on: hosts[(index + 1) % 3])
                        }
                    }
                }

                // Faults while the work flows: a kill every 2-4 s.
                var kills: [Kill] = []
                var restarts: [(host: FleetHost, due: Date)] = []
                func runners() async throws -> [String: String] {
                    let listed = try await RunnersTests.spoolrunner(["runners", "--store", url.description, "--json"])
                    let array = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
                    var health: [String: String] = [:]
                    for runner in array ?? [] {
                        if let id = runner["runner_id"] as? String { health[id] = runner["health"] as? String }
                    }
                    return health
                }
                // `spoolrunner runners` shows three healthy runners (and, below, one dead).
                #expect(
                    await eventually(timeout: 20) {
                        try await runners() == ["a": "healthy", "b": "healthy", "c": "healthy"]
                    })
                var sawDead = false
                /// Sleeps, starting again the hosts whose time has come meanwhile.
                func pause(_ seconds: Double) async throws {
                    let until = Date().addingTimeInterval(seconds)
                    repeat {
                        // One at a time: the check below may take seconds, and entries come due meanwhile.
                        while let index = restarts.firstIndex(where: { $0.due <= Date() }) {
                            let restart = restarts.remove(at: index)
                            if !sawDead, kills.contains(where: { $0.host == restart.host.name && $0.kind == .leftDown })
                            {
                                // Down for three leases: the leader's reaper said it is dead (a
                                // leader killed meanwhile delays that by an election).
                                var health: [String: String] = [:]
                                sawDead = await eventually(timeout: 15) {
                                    health = try await runners()
                                    return health[restart.host.name] == "dead"
                                }
                                #expect(sawDead, "runners after three leases: \(health)")
                            }
                            try supervisor.release(restart.host)
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    } while Date() < until
                }
                func currentLeader() async -> FleetHost? {
                    for _ in 0..<80 {
                        if let name = leaders.current, let host = hosts.first(where: { $0.name == name }) {
                            return host
                        }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    return nil
                }
                func kill(_ victim: FleetHost, kind: Kill.Kind, afterDrop: Bool = false) async throws {
                    let leader = leaders.current == victim.name
                    supervisor.hold(victim)
                    let owned = try await ownedUnfinished(victim)
                    // Host c's crash takes its tasks with it, as a container's would, except for
                    // the kill that is about orphans.
                    let tasks = victim === c && kind != .orphans ? victim.runner?.descendants() ?? [] : []
                    let at = Date()
                    victim.runner?.kill(SIGKILL)
                    for pid in tasks { Glibc.kill(pid, SIGKILL) }
                    victim.runner?.wait()
                    kills.append(
                        Kill(host: victim.name, at: at, leader: leader, kind: kind, afterDrop: afterDrop, owned: owned))
                    switch kind {
                    case .leftDown: restarts.append((victim, at.addingTimeInterval(3 * Self.lease + 1.5)))
                    case .leaderDown: restarts.append((victim, at.addingTimeInterval(6.5)))
                    case .fastRestart, .orphans:
                        try await Task.sleep(for: .milliseconds(500))
                        try supervisor.release(victim)  // the same spool: the fast path
                    }
                }
                func up() -> [FleetHost] {
                    hosts.filter { host in host.runner?.isRunning == true && !restarts.contains { $0.host === host } }
                }
                let perWave = (Self.requestCount + Self.steps - 1) / Self.steps
                for step in 0..<Self.steps {
                    try wave(perWave)
                    try extras(step: step)
                    // Into the wave: its tasks run when the runner dies.
                    try await pause(Double.random(in: 0.4...0.8))
                    switch step {
                    case 1, 3, 6:
                        // The leader: back after 0.5 s the first time (it usually leads again),
                        // after 6.5 s the other times, so that the leadership moves (a follower
                        // tries every 5 s ± 1 s).
                        if let leader = await currentLeader(), up().contains(where: { $0 === leader }) {
                            try await kill(leader, kind: step == 1 ? .fastRestart : .leaderDown)
                        }
                    case 2:
                        // Right after files were dropped into its inbox, with tasks running: left
                        // down for three leases, so that the others take its processes over.
                        let victim =
                            [a, b].first { (host: FleetHost) in
                                host.name != leaders.current && up().contains { $0 === host }
                            } ?? b
                        for index in 0..<6 {
                            try drop("busy\(index)", #"{"process_type": "steady"}"#, on: victim)
                            valid["busy\(index)"] = [victim]
                        }
                        _ = await eventually(timeout: 5) {
                            let running: Int64? = try await db.value(
                                "SELECT count(*) FROM processes WHERE owner_runner = \(victim.name) AND status = 'running'"
                            )
                            return (running ?? 0) >= 3
                        }
                        for index in 0..<5 {
                            try drop("late\(index)", #"{"process_type": "steady"}"#, on: victim)
                            valid["late\(index)"] = [victim]
                        }
                        try await kill(victim, kind: .leftDown, afterDrop: true)
                    case 4, 5, 7, 9:
                        // Host c without a supervisor: only the runner dies; its tasks go on until
                        // its restart on the same spool kills them (once, as soon as c is up).
                        if !kills.contains(where: { $0.kind == .orphans }), up().contains(where: { $0 === c }) {
                            try await kill(c, kind: .orphans)
                        }
                    case 8:
                        if let victim = up().randomElement() { try await kill(victim, kind: .fastRestart) }
                    default:
                        // A longer run (scripts/pg-chaos.sh): a kill per step until there are enough.
                        guard step >= 10, kills.count < Self.killTarget else { break }
                        if step % 5 == 0, let leader = await currentLeader(), up().contains(where: { $0 === leader }) {
                            try await kill(leader, kind: .leaderDown)
                        } else if step % 7 == 0,
                            let victim = [a, b].first(where: { (host: FleetHost) in
                                host.name != leaders.current && up().contains { $0 === host }
                            })
                        {
                            try await kill(victim, kind: .leftDown)
                        } else if let victim = up().randomElement() {
                            try await kill(victim, kind: .fastRestart)
                        }
                    }
                    try await pause(Double.random(in: 1.2...2.0))
                }
                while !restarts.isEmpty { try await pause(0.1) }
                #expect(sawDead || !kills.contains { $0.kind == .leftDown })
                for (id, drops) in dropped where id.hasPrefix("same") || id.hasPrefix("late") {
                    #expect(drops.count == valid[id]?.count)
                }
                let loadEnded = Date()

                // Every accepted process ends, within 60 s.
                func allFinal() async throws -> Bool {
                    let open: Int64? = try await db.value(
                        "SELECT count(*) FROM processes WHERE status IN ('pending', 'running')")
                    let inboxes = hosts.allSatisfy { host in
                        ((try? FileManager.default.contentsOfDirectory(atPath: host.spool + "/inbox")) ?? [])
                            .filter { $0.hasSuffix(".json") }.isEmpty
                    }
                    return open == 0 && inboxes
                }
                let ended = await eventually(timeout: Self.drainLimit) { try await allFinal() }
                if !ended { try await Self.dumpStuck(db, hosts) }
                #expect(ended, "\(hosts.map { $0.runner?.log.suffix(1500) ?? "" }.joined(separator: "\n---\n"))")
                let drained = Date()

                // The poison request: it kills host a's runner each time it runs; the supervisor
                // restarts a, whose recovery runs it again, until the crash-loop guard ends it.
                // The fleet keeps working meanwhile (quick requests on b and c), and after.
                try drop("poison", #"{"process_type": "poison"}"#, on: a)
                valid["poison"] = [a]
                for index in 0..<10 {
                    let id = "after\(index)"
                    try drop(id, #"{"process_type": "quick"}"#, on: index % 2 == 0 ? b : c)
                    valid[id] = [index % 2 == 0 ? b : c]
                }
                let poisoned = await eventually(timeout: 60) {
                    let status: String? = try await db.value("SELECT status FROM processes WHERE process_id = 'poison'")
                    return status.map { Self.finalStatuses.contains($0) } ?? false
                }
                #expect(poisoned, "\(a.logs.suffix(3000))")
                for index in 10..<20 {
                    let id = "after\(index)"
                    let host = hosts[index % 3]
                    try drop(id, #"{"process_type": "\#(types[index % 3])"}"#, on: host)
                    valid[id] = [host]
                }
                #expect(await eventually(timeout: Self.drainLimit) { try await allFinal() })
                if !(try await allFinal()) { try await Self.dumpStuck(db, hosts) }

                // Status files converge on every host the request was dropped on, and are the
                // store's status document byte for byte.
                func statusBytes(_ id: String) async throws -> Data? {
                    guard let stored = try await db.snapshot(id) else { return nil }
                    return StatusDocument(process: stored.record, tasks: stored.tasks).jsonData()
                }
                var unequal: [String] = []
                let converged = await eventually(timeout: 30) {
                    unequal = []
                    for (id, droppedOn) in valid.sorted(by: { $0.key < $1.key }) {
                        let expected = try await statusBytes(id)
                        for host in droppedOn
                        where FileManager.default.contents(atPath: "\(host.spool)/outbox/\(id).json") != expected {
                            unequal.append("\(id)@\(host.name)")
                        }
                    }
                    return unequal.isEmpty
                }
                #expect(converged, "status files not as in the store: \(unequal)")
                // The CLI reads the same bytes from the store, with no spool.
                for id in ["same0", "same1", "r0000", "r0001", "r0002", "late0", "poison"] {
                    let cli = try await RunnersTests.spoolrunner(["status", id, "--store", url.description, "--json"])
                    let file = FileManager.default.contents(atPath: "\(valid[id]![0].spool)/outbox/\(id).json")
                    #expect(cli.status == 0 && Data(cli.output.utf8) == file, "status \(id) --store --json")
                }
                // SIGTERM: each runner exits 0.
                for host in hosts { supervisor.hold(host) }
                for host in hosts { host.runner?.kill(SIGTERM) }
                for host in hosts { #expect(host.runner?.wait() == 0, "\(host.runner?.log.suffix(1500) ?? "")") }
                let stopped = Date()

                // Nothing lost.
                let rows: [String] = try await db.values(
                    "SELECT process_id || ' ' || status FROM processes ORDER BY process_id")
                let statusByID = Dictionary(
                    uniqueKeysWithValues: rows.map { row in
                        let parts = row.split(separator: " ")
                        return (String(parts[0]), String(parts[1]))
                    })
                let ticks = statusByID.keys.filter { $0.hasPrefix("tick-") }.sorted()
                #expect(Set(statusByID.keys).subtracting(ticks) == Set(valid.keys))
                #expect(statusByID.values.allSatisfy { Self.finalStatuses.contains($0) })
                for host in hosts {
                    for directory in ["inbox", "tmp"] {
                        let left =
                            ((try? FileManager.default.contentsOfDirectory(atPath: "\(host.spool)/\(directory)"))
                            ?? []).filter { $0 != ".gitkeep" }
                        #expect(left.isEmpty, "\(host.name)/\(directory): \(left)")
                    }
                }
                // The only rejections are the deliberate ones, on the host where each was dropped:
                // a conflicting id is rejected on the host whose bytes the store does not have.
                for index in 0..<5 {
                    let id = "conflict\(index)"
                    let stored: String? = try await db.value(
                        "SELECT request_json FROM processes WHERE process_id = \(id)")
                    let losers = dropped[id, default: []].filter { $0.body != stored }
                    #expect(losers.count == 1, "\(id): stored \(stored ?? "nothing")")
                    for loser in losers {
                        expectedRejections.append("\(id).json duplicate_process_id \(loser.host.name)")
                        #expect(loser.host.status(id) == nil, "no status file for \(id) on \(loser.host.name)")
                    }
                    valid[id] = dropped[id, default: []].filter { $0.body == stored }.map(\.host)
                }
                let rejected: [String] = try await db.values(
                    "SELECT file_name || ' ' || code || ' ' || coalesce(runner_id, '-') FROM rejections")
                // Every deliberate one has its row, once, naming the host where it was dropped: a
                // kill between the move to rejected/ and the commit of the row is made good by
                // the host's next start (`RejectionRecovery`, from rejected/*.error.json).
                #expect(rejected.sorted() == expectedRejections.sorted())
                // And its file is in rejected/ on that host, with its code.
                for expected in expectedRejections {
                    let parts = expected.split(separator: " ").map(String.init)
                    let host = hosts.first { $0.name == parts[2] }!
                    let error = FileManager.default.contents(atPath: "\(host.spool)/rejected/\(parts[0]).error.json")
                    let code =
                        error.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
                        .flatMap { $0["error"] as? [String: Any] }?["code"] as? String
                    #expect(code == parts[1], "\(expected): rejected/ has \(code ?? "nothing")")
                    // An invalid file's client gets a `rejected` status file there (a conflicting
                    // id's must not: its process exists), a kill or not.
                    if parts[1] != "duplicate_process_id" {
                        let id = String(parts[0].dropLast(".json".count))
                        #expect(host.status(id) == "rejected", "\(expected): status \(host.status(id) ?? "none")")
                    }
                }

                // Nothing duplicated: one row per id (the primary key), no task succeeded twice,
                // none ran more attempts than its retries allow (interrupted ones do not count).
                let doubleSuccess: [String] = try await db.values(
                    """
                    SELECT process_id || '/' || task_name FROM events WHERE event = 'task_succeeded'
                     GROUP BY process_id, task_name HAVING count(*) > 1
                    """)
                #expect(doubleSuccess.isEmpty)
                let overAttempted: [String] = try await db.values(
                    """
                    SELECT t.process_id || '/' || t.task_name || ' ' || t.attempts || '-' || t.retry_base
                      FROM tasks t JOIN processes p USING (process_id)
                     WHERE t.attempts - t.retry_base > CASE p.process_type WHEN 'poison' THEN 5 ELSE 1 END
                    """)
                #expect(overAttempted.isEmpty)
                // One process per schedule slot, none missing in the window (catch_up: all).
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyyMMdd'T'HHmm"
                formatter.timeZone = TimeZone(identifier: "UTC")
                let slots = ticks.compactMap { formatter.date(from: String($0.dropFirst("tick-".count))) }
                #expect(slots.count == ticks.count)
                let gaps = zip(slots, slots.dropFirst()).filter { $1.timeIntervalSince($0) != 60 }
                #expect(gaps.isEmpty, "schedule slots missing: \(gaps)")
                // The window: the first minute after the clock's start, to about when the runners stopped.
                let clockAtStop = 30 + stopped.timeIntervalSince(began) * 60
                #expect(
                    slots.first.map { $0.timeIntervalSince1970 - 1_767_225_600 <= 5 * 60 } ?? false,
                    "\(ticks.first ?? "none")")
                #expect(
                    slots.last.map { $0.timeIntervalSince1970 - 1_767_225_600 >= clockAtStop - 20 * 60 } ?? false,
                    "\(ticks.last ?? "none") for a clock at +\(Int(clockAtStop)) s")

                // Non-idempotent never twice; an end line exactly when it succeeded; every
                // recovery of a running `idempotent: false` task ended it `interrupted`.
                let ledger = Ledger(path: shared + "/ledger")
                let onceTasks: [String] = try await db.values(
                    """
                    SELECT t.process_id || ' ' || t.status || ' ' || coalesce(t.error_json->>'code', '-')
                      FROM tasks t JOIN processes p USING (process_id) WHERE p.process_type = 'once'
                    """)
                #expect(onceTasks.count >= Self.requestCount / 3)
                for row in onceTasks {
                    let parts = row.split(separator: " ").map(String.init)
                    let (id, status) = (parts[0], parts[1])
                    let starts = ledger.lines(of: id, "pay", "start").count
                    let ends = ledger.lines(of: id, "pay", "end").count
                    #expect(starts <= 1, "\(id) started \(starts) times")
                    if status == "success" { #expect(starts == 1 && ends == 1, "\(row)") }
                    if starts == 0 { #expect(status != "success", "\(row)") }
                }
                let notInterrupted: [String] = try await db.values(
                    """
                    SELECT t.process_id || ' ' || t.status || ' ' || coalesce(t.error_json->>'code', '-')
                      FROM tasks t JOIN processes p USING (process_id)
                     WHERE p.process_type = 'once'
                       AND EXISTS (SELECT 1 FROM events e WHERE e.process_id = t.process_id AND e.event = 'recovered'
                                     AND (e.detail_json->>'interrupted_tasks')::int > 0)
                       AND NOT (t.status = 'failed' AND t.error_json->>'code' IN ('interrupted', 'crash_loop'))
                    """)
                #expect(notInterrupted.isEmpty)
                // Never concurrently: no two runs of one idempotent task overlap.
                if contained {
                    let overlaps = ledger.overlaps(task: "work")
                    #expect(overlaps.isEmpty, "idempotent runs at once: \(overlaps)")
                }

                // The faults really happened.
                let takenElsewhere: [String] = try await db.values(
                    """
                    SELECT t.process_id FROM events t WHERE t.event = 'taken_over'
                       AND EXISTS (SELECT 1 FROM events s WHERE s.process_id = t.process_id AND s.id > t.id
                                     AND s.event = 'task_started'
                                     AND s.runner_id IS DISTINCT FROM t.detail_json->>'previous_runner')
                    """)
                let sameHost: Int64? = try await db.value(
                    """
                    SELECT count(*) FROM (SELECT event, lag(event) OVER (PARTITION BY process_id ORDER BY id) AS before
                                            FROM events) e
                     WHERE e.event = 'recovered' AND e.before IS DISTINCT FROM 'taken_over'
                    """)
                #expect(takenElsewhere.count >= 3, "taken over and started by another runner: \(takenElsewhere)")
                #expect((sameHost ?? 0) >= 1, "a runner restarted on its spool recovered its own work")
                let changes = leaders.changes
                #expect(changes.count >= 3, "leaders in turn: \(changes.map(\.leader))")
                #expect(kills.filter(\.leader).count >= 2)
                #expect(kills.count >= 5)
                #expect(kills.contains { $0.afterDrop })
                #expect(kills.contains { $0.kind == .orphans })
                // The poison: crash_loop after exactly three recoveries, its runner dead four times.
                let poison: String? = try await db.value(
                    "SELECT status || ' ' || coalesce(error_json->>'code', '-') FROM processes WHERE process_id = 'poison'"
                )
                #expect(poison == "failed crash_loop")
                let poisonRecoveries: Int64? = try await db.value(
                    "SELECT count(*) FROM events WHERE process_id = 'poison' AND event = 'recovered'")
                #expect(poisonRecoveries == 3)
                #expect(supervisor.deaths.filter { $0.host == "a" }.count == 4, "\(supervisor.deaths)")
                let afterPoison = (0..<20).map { "after\($0)" }
                #expect(afterPoison.allSatisfy { statusByID[$0] == "success" })
                // Processes that ran on a when the poison killed it share its fate only if they
                // were interrupted as often: any other crash_loop is a failure.
                let crashLooped: [String] = try await db.values(
                    "SELECT process_id FROM processes WHERE error_json->>'code' = 'crash_loop' AND process_id <> 'poison'"
                )
                print("fleet chaos: crash_loop besides the poison (ran on its host): \(crashLooped)")

                // A clean store.
                let owned: Int64? = try await db.value(
                    "SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL AND status NOT IN ('pending', 'running')"
                )
                #expect(owned == 0)
                let states: [String] = try await db.values("SELECT DISTINCT state FROM runners")
                #expect(states == ["stopped"])
                let orphans: Int64? = try await db.value(
                    """
                    SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS
                              (SELECT 1 FROM processes p WHERE p.process_id = e.process_id))
                         + (SELECT count(*) FROM tasks t WHERE NOT EXISTS
                              (SELECT 1 FROM processes p WHERE p.process_id = t.process_id))
                    """)
                #expect(orphans == 0)
                let notEndingWithTheEnd: [String] = try await db.values(
                    """
                    SELECT p.process_id || ' ' || coalesce(last.event, '-') FROM processes p
                      LEFT JOIN LATERAL (SELECT event FROM events e WHERE e.process_id = p.process_id
                                          ORDER BY e.id DESC LIMIT 1) last ON true
                     WHERE last.event IS DISTINCT FROM 'process_' || CASE p.status WHEN 'success' THEN 'succeeded'
                                                              ELSE p.status END
                    """)
                #expect(notEndingWithTheEnd.isEmpty)

                // The numbers scripts/pg-chaos.sh reports.
                let lost =
                    valid.keys.filter { statusByID[$0].map { !Self.finalStatuses.contains($0) } ?? true }.count
                    + hosts.map { host in
                        ((try? FileManager.default.contentsOfDirectory(atPath: "\(host.spool)/inbox")) ?? [])
                            .filter { $0.hasSuffix(".json") }.count
                    }.reduce(0, +)
                let unexpected = Set(statusByID.keys).subtracting(ticks).subtracting(valid.keys).count
                let reruns = onceTasks.filter { row in
                    ledger.lines(of: String(row.prefix { $0 != " " }), "pay", "start").count > 1
                }.count
                print(
                    "fleet chaos summary: \(valid.count) requests accepted, \(kills.count) kills, lost \(lost), duplicated \(unexpected + doubleSuccess.count), non-idempotent reruns \(reruns)"
                )

                // Timings.
                print(
                    "fleet chaos: \(statusByID.count) processes (\(ticks.count) schedule slots), \(kills.count) kills, \(takenElsewhere.count) taken over elsewhere, \(sameHost ?? 0) recovered on the same host; load \(Self.seconds(loadEnded.timeIntervalSince(began))), drained \(Self.seconds(drained.timeIntervalSince(loadEnded))) later, poison and stop \(Self.seconds(stopped.timeIntervalSince(drained)))"
                )
                for (index, kill) in kills.enumerated() {
                    let starts: [String] = try await db.values(
                        """
                        SELECT process_id || ' ' || runner_id || ' ' || extract(epoch FROM min(at))::text FROM events
                         WHERE process_id = ANY(\(kill.owned)::text[]) AND event IN ('task_started', 'process_failed')
                           AND at > \(kill.at) GROUP BY process_id, runner_id
                        """)
                    var first: [String: (runner: String, at: Double)] = [:]
                    for row in starts {
                        let parts = row.split(separator: " ").map(String.init)
                        guard parts.count == 3, let at = Double(parts[2]) else { continue }
                        if first[parts[0]].map({ at < $0.at }) ?? true { first[parts[0]] = (parts[1], at) }
                    }
                    let delays = first.values.map { $0.at - kill.at.timeIntervalSince1970 }.sorted()
                    let runners = Set(first.values.map(\.runner)).sorted()
                    var line =
                        "fleet chaos: kill \(index + 1): \(kill.host)\(kill.leader ? " (leader)" : "")\(kill.afterDrop ? " right after a drop" : ""), \(kill.kind.rawValue): \(kill.owned.count) unfinished process(es)"
                    if let low = delays.first, let high = delays.last {
                        line +=
                            "; next start or end \(Self.seconds(low))-\(Self.seconds(high)) after the kill, by \(runners.joined(separator: ","))"
                    }
                    if kill.leader, let next = leaders.firstLeader(after: kill.at, notBefore: kill.host) {
                        line += "; next leader \(next.leader) \(Self.seconds(next.at.timeIntervalSince(kill.at))) after"
                    }
                    print(line)
                }
            }
        }

        static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

        /// What the unfinished processes look like, and what the logs say of them.
        static func dumpStuck(_ db: PostgresStore, _ hosts: [FleetHost]) async throws {
            let stuck: [String] = try await db.values(
                """
                SELECT p.process_id || ' ' || p.status || ' owner=' || coalesce(p.owner_runner, '-')
                       || ' epoch=' || p.lease_epoch || ' takeovers=' || p.takeovers || ' events: '
                       || coalesce((SELECT string_agg(e.event || coalesce('/' || e.task_name, '') || '@'
                                                      || coalesce(e.runner_id, '-'), ', ' ORDER BY e.id)
                                      FROM events e WHERE e.process_id = p.process_id), '')
                  FROM processes p WHERE p.status IN ('pending', 'running')
                """)
            let runners: [String] = try await db.values(
                "SELECT runner_id || ' inc=' || incarnation || ' ' || state || ' expires=' || expires_at::text FROM runners"
            )
            print("fleet chaos STUCK: \(stuck)\nrunners: \(runners)")
            let ids = stuck.map { String($0.prefix { $0 != " " }) }
            for host in hosts {
                let lines = host.logs.split(separator: "\n").filter { line in
                    ids.contains { line.contains("process_id=\($0) ") || line.hasSuffix("process_id=\($0)") }
                }
                print("--- \(host.name):\n\(lines.joined(separator: "\n"))")
            }
        }
    }
}

/// The fleet's leader over time, sampled every 100 ms from the store (the advisory lock's holder).
final class LeaderSamples: Sendable {
    private let samples = Mutex<[(at: Date, leader: String?)]>([])

    var current: String? { samples.withLock { $0.last?.leader ?? nil } }

    /// Each change of leader (nil samples, an election under way, left out).
    var changes: [(at: Date, leader: String)] {
        samples.withLock { samples in
            var result: [(at: Date, leader: String)] = []
            for sample in samples {
                guard let leader = sample.leader, result.last?.leader != leader else { continue }
                result.append((sample.at, leader))
            }
            return result
        }
    }

    /// The first leader seen after `date` other than `previous` (or `previous` again after a
    /// gap with no leader: re-elected after its restart).
    func firstLeader(after date: Date, notBefore previous: String) -> (at: Date, leader: String)? {
        samples.withLock { samples in
            var sawGap = false
            for sample in samples where sample.at > date {
                guard let leader = sample.leader else {
                    sawGap = true
                    continue
                }
                if leader != previous || sawGap { return (sample.at, leader) }
            }
            return nil
        }
    }

    func sample(_ db: PostgresStore) async {
        while !Task.isCancelled {
            let leader: String? = try? await db.value(
                """
                SELECT r.runner_id FROM runners r JOIN pg_stat_activity a
                  ON a.application_name = 'spoolrunner/' || r.runner_id || '/control'
                  JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                 LIMIT 1
                """)
            samples.withLock { $0.append((Date(), leader)) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// The shared ledger the test's tasks append to: `start|end <process> <task> <pid> <epoch seconds>`.
struct Ledger {
    var lines: [[String]]

    init(path: String) {
        lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map {
            $0.split(separator: " ").map(String.init)
        }
    }

    func lines(of processID: String, _ task: String, _ kind: String) -> [[String]] {
        lines.filter { $0.count == 5 && $0[0] == kind && $0[1] == processID && $0[2] == task }
    }

    /// Runs of `task` of one process that overlap: a start before the previous run's end.
    func overlaps(task: String) -> [String] {
        var runs: [String: [(start: Double, end: Double?, pid: String)]] = [:]
        for line in lines where line.count == 5 && line[2] == task {
            let time = Double(line[4]) ?? 0
            if line[0] == "start" {
                runs[line[1], default: []].append((time, nil, line[3]))
            } else if var list = runs[line[1]], let open = list.lastIndex(where: { $0.pid == line[3] && $0.end == nil })
            {
                list[open].end = time
                runs[line[1]] = list
            }
        }
        var found: [String] = []
        for (id, list) in runs {
            // A run that never ended (killed) ended at the latest when the next one began.
            let sorted = list.sorted { $0.start < $1.start }
            for (first, second) in zip(sorted, sorted.dropFirst()) where (first.end ?? first.start) > second.start {
                found.append(id)
            }
        }
        return found.sorted()
    }
}
