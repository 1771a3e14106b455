import Foundation
import ProcessDefinitions
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// One suite, both stores: every `Store` operation gives the same domain result on SQLite and on
/// PostgreSQL for the same calls (River's driver test idea).
@Suite("Store conformance: SQLite and PostgreSQL give the same results")
struct StoreConformanceTests {
    @Test("accept: the process, its tasks and its accepted event, the request verbatim", arguments: Backend.allCases)
    func accept(_ backend: Backend) async throws {
        try await withStore(backend, "accept") { sut in
            let change = Fixture.accepted("p1", created: 0)
            let outcome = try await sut.store.commit(StoreBatch(changes: [change]))
            #expect(outcome == .empty)
            let stored = try #require(try await sut.store.snapshot("p1"))
            #expect(try encoded(stored.record) == encoded(change.record))
            #expect(try encoded(stored.tasks) == encoded(change.tasks))
            #expect(try await sut.store.process("p1").map(encoded) == encoded(change.record))
            #expect(try await sut.store.requestJSONs(of: ["p1", "nope"]) == ["p1": Fixture.requestJSON("p1")])
            #expect(try await sut.store.events(of: "p1", after: 0).map(\.event) == [.accepted])
            #expect(try await sut.store.statusCounts() == [.pending: 1])
            #expect(try await sut.store.snapshot("nope") == nil)
            if let postgres = sut.postgres {
                // Accepted here: owned by this runner under the first epoch, and subscribed by it.
                #expect(
                    try await postgres.value(
                        "SELECT owner_runner || '/' || lease_epoch FROM processes WHERE process_id = 'p1'",
                        as: String.self) == "runner-0/1")
                #expect(
                    try await postgres.values("SELECT runner_id FROM subscriptions WHERE process_id = 'p1'")
                        == ["runner-0"])
            }
        }
    }

    @Test(
        "identical duplicate: the stored bytes are the request's, so the same bytes are recognized",
        arguments: Backend.allCases)
    func identicalDuplicate(_ backend: Backend) async throws {
        try await withStore(backend, "identical duplicate") { sut in
            _ = try await sut.store.commit(StoreBatch(changes: [Fixture.accepted("p1", created: 0)]))
            let again = Fixture.requestJSON("p1")
            let stored = try await sut.store.requestJSONs(of: ["p1"])
            #expect(stored["p1"] == again, "byte for byte, spacing and key order included")
            #expect(stored["p1"] != again.replacingOccurrences(of: "  ", with: " "))
            if let peer = sut.peer, let lease = sut.peerLease {
                // Global: another host sees the same bytes, and accepting them subscribes it too.
                #expect(try await peer.requestJSONs(of: ["p1"]) == stored)
                var request = testRequest("p1", body: again)
                request.definitionYAML = StoreUnderTest.definitionYAML
                #expect(
                    try await peer.accept(request, fileName: "p1.json", claimIfCapacity: true, lease: lease)
                        == .duplicate)
                #expect(
                    try await peer.values("SELECT runner_id FROM subscriptions WHERE process_id = 'p1' ORDER BY 1")
                        == ["runner-0", "runner-1"])
            }
            #expect(try await sut.store.events(of: "p1", after: 0).map(\.event) == [.accepted])
        }
    }

    @Test("conflicting duplicate: rejected, the original untouched", arguments: Backend.allCases)
    func conflictingDuplicate(_ backend: Backend) async throws {
        try await withStore(backend, "conflicting duplicate") { sut in
            _ = try await sut.store.commit(StoreBatch(changes: [Fixture.accepted("p1", created: 0)]))
            let before = try encoded(try #require(try await sut.store.snapshot("p1")).record)
            let other = Fixture.requestJSON("p1", name: "Grace")
            #expect(try await sut.store.requestJSONs(of: ["p1"])["p1"] != other)
            let rejection = RejectionRecord(
                fileName: "p1.json", receivedAt: at(5), code: .duplicateProcessID,
                message: "process id p1 exists with another request")
            #expect(try await sut.store.commit(StoreBatch(rejections: [rejection])) == .empty)
            let listed = try await sut.store.rejections(RejectionQuery(code: "duplicate_process_id"))
            #expect(listed.map(\.fileName) == ["p1.json"])
            #expect(listed.first?.receivedAt == at(5))
            #expect(try encoded(try #require(try await sut.store.snapshot("p1")).record) == before)
            if let postgres = sut.postgres, let peer = sut.peer, let lease = sut.peerLease {
                // Another host accepted the id between this runner's look-up and its commit: the
                // commit writes nothing of it and reports it lost.
                var racing = Fixture.accepted("p2", created: 1)
                racing.record.requestJSON = other
                var request = testRequest("p2", body: Fixture.requestJSON("p2"))
                request.definitionYAML = StoreUnderTest.definitionYAML
                _ = try await peer.accept(request, fileName: "p2.json", claimIfCapacity: false, lease: lease)
                let outcome = try await postgres.commit(StoreBatch(changes: [racing]))
                #expect(outcome.lost == ["p2"])
                #expect(try await postgres.requestJSONs(of: ["p2"])["p2"] == Fixture.requestJSON("p2"))
                #expect(try await postgres.events(of: "p2", after: 0).count == 1)
            }
        }
    }

    @Test("claim: the unfinished processes, in acceptance order, with their tasks", arguments: Backend.allCases)
    func claim(_ backend: Backend) async throws {
        try await withStore(backend, "claim") { sut in
            _ = try await sut.store.commit(
                StoreBatch(changes: [
                    Fixture.accepted("p3", created: 0), Fixture.accepted("p1", created: 1),
                    Fixture.accepted("p2", created: 2),
                ]))
            _ = try await sut.store.commit(
                StoreBatch(changes: [Fixture.ended("p1", created: 1, ended: 9, status: .success)]))
            let unfinished = try await sut.store.unfinishedProcesses()
            #expect(unfinished.map(\.record.processID) == ["p3", "p2"])
            #expect(
                unfinished.map { $0.tasks.map(\.taskName) } == [StoreUnderTest.taskNames, StoreUnderTest.taskNames])
            if let peer = sut.peer, let lease = sut.peerLease {
                // Held by this runner: nobody else can claim them.
                #expect(try await peer.claim(limit: 10, lease: lease).isEmpty)
            }
        }
    }

    @Test("commit: state changes written as given; a final process is no one's any more", arguments: Backend.allCases)
    func commit(_ backend: Backend) async throws {
        try await withStore(backend, "commit") { sut in
            _ = try await sut.store.commit(StoreBatch(changes: [Fixture.accepted("p1", created: 0)]))
            let running = Fixture.running(
                "p1", created: 0, started: 2, states: ["done": .success, "redo": .running, "later": .retrying])
            #expect(try await sut.store.commit(StoreBatch(changes: [running])) == .empty)
            let stored = try #require(try await sut.store.snapshot("p1"))
            #expect(try encoded(stored.record) == encoded(running.record))
            #expect(try encoded(stored.tasks) == encoded(running.tasks))
            // Only the tasks given change; the process row stays when not changed.
            var onlyTask = running
            onlyTask.processChanged = false
            onlyTask.record.status = .failed
            onlyTask.tasks = [running.tasks[1]]
            onlyTask.tasks[0].status = .success
            onlyTask.events = []
            #expect(try await sut.store.commit(StoreBatch(changes: [onlyTask])) == .empty)
            let after = try #require(try await sut.store.snapshot("p1"))
            #expect(after.record.status == .running)
            #expect(after.tasks.map(\.status) == [.success, .success, .pending, .retrying])
            let ended = Fixture.ended("p1", created: 0, ended: 20, status: .failed)
            #expect(try await sut.store.commit(StoreBatch(changes: [ended])) == .empty)
            #expect(try await sut.store.process("p1").map(encoded) == encoded(ended.record))
            #expect(try await sut.store.unfinishedProcesses().isEmpty)
            if let postgres = sut.postgres {
                #expect(
                    try await postgres.value(
                        "SELECT owner_runner FROM processes WHERE process_id = 'p1'", as: String?.self)
                        == .some(nil))
            }
        }
    }

    @Test("history filters: type, status, since, until, limit and offset, newest first", arguments: Backend.allCases)
    func historyFilters(_ backend: Backend) async throws {
        try await withStore(backend, "history filters") { sut in
            _ = try await sut.store.commit(
                StoreBatch(
                    changes: ["a", "b", "c", "d", "e", "f"].enumerated().map { index, id in
                        Fixture.accepted(id, created: Double(index * 60), type: index % 2 == 0 ? "greet" : "other")
                    }))
            _ = try await sut.store.commit(
                StoreBatch(changes: [
                    Fixture.ended("a", created: 0, ended: 500, status: .success),
                    Fixture.ended("d", created: 180, ended: 500, status: .failed),
                ]))
            func ids(_ query: ProcessQuery) async throws -> [String] {
                try await sut.store.processes(query).map(\.processID)
            }
            #expect(try await ids(ProcessQuery()) == ["f", "e", "d", "c", "b", "a"])
            #expect(try await ids(ProcessQuery(type: "other")) == ["f", "d", "b"])
            #expect(try await ids(ProcessQuery(status: .pending)) == ["f", "e", "c", "b"])
            #expect(try await ids(ProcessQuery(type: "other", status: .failed)) == ["d"])
            #expect(try await ids(ProcessQuery(since: at(120))) == ["f", "e", "d", "c"])
            #expect(try await ids(ProcessQuery(until: at(120))) == ["b", "a"])
            #expect(try await ids(ProcessQuery(since: at(60), until: at(240))) == ["d", "c", "b"])
            #expect(try await ids(ProcessQuery(limit: 2, offset: 1)) == ["e", "d"])
            #expect(try await sut.store.statusCounts() == [.pending: 4, .success: 1, .failed: 1])
            let overview = try await sut.store.overview(unfinishedLimit: 2, recentLimit: 1)
            #expect(overview.map(\.record.processID) == ["b", "c", "d"])
        }
    }

    @Test("events: oldest first, after an id", arguments: Backend.allCases)
    func eventsOrder(_ backend: Backend) async throws {
        try await withStore(backend, "events order") { sut in
            _ = try await sut.store.commit(
                StoreBatch(changes: [Fixture.accepted("p1", created: 0), Fixture.accepted("p2", created: 0)]))
            var running = Fixture.running("p1", created: 0, started: 1, states: ["done": .running])
            running.events += [
                EventRecord(
                    processID: "p1", taskName: "done", event: .taskSucceeded, at: at(1), detail: ["exit_code": 0]),
                EventRecord(processID: "p1", taskName: "redo", event: .taskStarted, at: at(1)),
            ]
            _ = try await sut.store.commit(StoreBatch(changes: [running]))
            _ = try await sut.store.commit(
                StoreBatch(changes: [Fixture.ended("p1", created: 0, ended: 3, status: .success)]))
            let events = try await sut.store.events(of: "p1", after: 0)
            #expect(
                events.map(\.event) == [
                    .accepted, .processStarted, .taskStarted, .taskSucceeded, .taskStarted, .processSucceeded,
                ])
            #expect(events.map(\.taskName) == [nil, nil, "done", "done", "redo", nil])
            #expect(events[3].detail == ["exit_code": .integer(0)])
            #expect(events.compactMap(\.id) == events.compactMap(\.id).sorted() && events.allSatisfy { $0.id != nil })
            let later = try await sut.store.events(of: "p1", after: try #require(events[2].id))
            #expect(later.map(\.event) == [.taskSucceeded, .taskStarted, .processSucceeded])
            #expect(try await sut.store.events(of: "p2", after: 0).map(\.event) == [.accepted])
        }
    }

    @Test("the recovery rule's table after a runner's death", arguments: Backend.allCases)
    func recoveryTable(_ backend: Backend) async throws {
        try await withStore(backend, "recovery table") { sut in
            _ = try await sut.store.commit(
                StoreBatch(
                    changes: ["r1", "r2", "r3", "r4"].enumerated().map { Fixture.accepted($1, created: Double($0)) }))
            _ = try await sut.store.commit(
                StoreBatch(changes: [
                    Fixture.running("r1", created: 0, started: 10, states: ["done": .success, "redo": .running]),
                    Fixture.running(
                        "r2", created: 1, started: 10, states: ["done": .success, "redo": .success, "once": .running]),
                    Fixture.running(
                        "r3", created: 2, started: 10,
                        states: ["done": .success, "redo": .success, "once": .success, "later": .retrying]),
                ]))
            try await sut.recoverAfterRunnerDeath(at: at(100))
            let p = try await sut.store.snapshots(["r1", "r2", "r3", "r4"])
            func task(_ id: String, _ name: String) throws -> TaskRecord {
                try #require(p[id]?.tasks.first { $0.taskName == name })
            }
            // Succeeded: kept. Running and idempotent: runs again, the interrupted attempt not counted.
            #expect(try task("r1", "done").status == .success)
            #expect(try task("r1", "redo").status == .pending)
            #expect(try task("r1", "redo").retryBase == 1)
            #expect(try task("r1", "redo").pid == nil)
            #expect(p["r1"]?.record.crashCount == 1)
            // Running and not idempotent: failed, interrupted, never run again; the §5 failure rule
            // follows when a runner drives the process next.
            #expect(try task("r2", "once").status == .failed)
            #expect(try task("r2", "once").error?.code == .interrupted)
            #expect(try task("r2", "once").attempts == 1)
            #expect(try task("r2", "redo").status == .success)
            #expect(p["r2"]?.record.status == .running)
            // Retrying: its timer kept; no task was running, so no crash counted.
            #expect(try task("r3", "later").status == .retrying)
            #expect(try task("r3", "later").nextAttemptAt == at(40))
            #expect(p["r3"]?.record.crashCount == 0)
            #expect(p["r3"]?.record.status == .running)
            // Pending: untouched.
            #expect(p["r4"]?.record.status == .pending)
            #expect(p["r4"]?.tasks.map(\.status) == [.pending, .pending, .pending, .pending])
            let events = try await sut.store.events(of: "r2", after: 0).map(\.event).filter { $0 != .takenOver }
            #expect(events.contains(.taskInterrupted) && events.contains(.recovered), "\(events)")
            if let peer = sut.peer {
                #expect(
                    try await peer.values("SELECT DISTINCT event FROM events WHERE event = 'taken_over'") == [
                        "taken_over"
                    ])
            }
        }
    }

    @Test("crash_loop after the limit of recoveries in a row with a task running", arguments: Backend.allCases)
    func crashLoop(_ backend: Backend) async throws {
        try await withStore(backend, "crash loop") { sut in
            _ = try await sut.store.commit(StoreBatch(changes: [Fixture.accepted("p1", created: 0)]))
            for round in 1...ProcessRun.crashLoopLimit {
                let crashes = try #require(try await sut.store.process("p1")).crashCount
                #expect(crashes == round - 1)
                let outcome = try await sut.store.commit(
                    StoreBatch(changes: [
                        Fixture.running(
                            "p1", created: 0, started: Double(round * 10), states: ["redo": .running],
                            crashCount: crashes)
                    ]))
                #expect(outcome == .empty)
                try await sut.recoverAfterRunnerDeath(at: at(Double(round * 10 + 5)))
                let record = try #require(try await sut.store.process("p1"))
                if round < ProcessRun.crashLoopLimit {
                    #expect(record.status == .running, "round \(round)")
                } else {
                    #expect(record.status == .failed)
                    #expect(record.error?.code == .crashLoop)
                    #expect(record.crashCount == ProcessRun.crashLoopLimit)
                }
            }
            #expect(try await sut.store.events(of: "p1", after: 0).filter { $0.event == .crashLoop }.count == 1)
        }
    }

    @Test("sessions, schedule state, counters, sweeps and prune", arguments: Backend.allCases)
    func maintenance(_ backend: Backend) async throws {
        try await withStore(backend, "maintenance") { sut in
            let store = sut.store
            try await store.bind(toSpool: "id-1", path: "/spool")
            let first = try await store.beginSession(RunnerSessionRecord(pid: 10, version: "t", startedAt: at(0)))
            #expect(first.previous == nil)
            let second = try await store.beginSession(RunnerSessionRecord(pid: 11, version: "t", startedAt: at(5)))
            #expect(second.previous?.pid == 10)
            #expect(second.previous?.cleanExit == false)
            try await store.endSession(second.sessionID, at: at(6))
            let third = try await store.beginSession(RunnerSessionRecord(pid: 12, version: "t", startedAt: at(7)))
            #expect(third.previous?.cleanExit == true)
            #expect(third.previous?.endedAt == at(6))
            #expect(second.uncleanSince == at(0))
            #expect(third.uncleanSince == nil)
            // Crashes in a row: rejection recovery looks back to the first of them.
            let fourth = try await store.beginSession(RunnerSessionRecord(pid: 13, version: "t", startedAt: at(9)))
            let fifth = try await store.beginSession(RunnerSessionRecord(pid: 14, version: "t", startedAt: at(11)))
            #expect(fourth.uncleanSince == at(7))
            #expect(fifth.uncleanSince == at(7))
            #expect(fifth.previous?.pid == 13)

            let state = ScheduleStateRecord(
                processType: "greet", entry: "", lastSlot: "2026-11-30T06:05:00.000Z",
                lastProcessID: "greet-20261130T0605", lastSubmittedAt: "2026-11-30T06:05:00.123Z",
                updatedAt: "2026-11-30T06:05:01.000Z")
            let skipped = EventRecord(
                processID: "greet-20261130T0604", event: .scheduleSkipped, at: at(240), detail: ["slot": "x"])
            try await store.saveScheduleState(state, events: [skipped])
            let states = try await store.scheduleStates()
            #expect(try encoded(states.entries) == encoded([state]))
            #expect(try await store.events(of: "greet-20261130T0604", after: 0).map(\.event) == [.scheduleSkipped])
            #expect(try await store.scheduleLastRuns() == ["greet": Timestamp.parse("2026-11-30T06:05:00.123Z")!])

            let before = try await store.lastEventID()
            _ = try await store.commit(
                StoreBatch(
                    changes: [
                        Fixture.accepted("greet-20261130T0605", created: 300),
                        Fixture.accepted("old", created: 0),
                    ],
                    rejections: [
                        RejectionRecord(fileName: "bad.json", receivedAt: at(1), code: .invalidJSON, message: "m")
                    ]))
            #expect(states.lastStatuses.isEmpty)
            #expect(try await store.scheduleStates().lastStatuses == ["greet-20261130T0605": .pending])
            #expect(
                try await store.unfinishedProcess(ofType: "greet", idMatching: "greet-2026113?T*")
                    == "greet-20261130T0605")
            #expect(try await store.unfinishedProcess(ofType: "greet", idMatching: "greet-2025*") == nil)
            #expect(try await store.unfinishedProcess(ofType: "greet", idMatching: "greet.20261130T0605") == nil)
            let changed = try await store.changedProcesses(afterEvent: before)
            #expect(Set(changed.stamps.map(\.processID)) == ["greet-20261130T0605", "old"])
            #expect(changed.lastEventID == (try await store.lastEventID()))
            let sweep = try await store.processStamps(after: 0, limit: 1)
            #expect(sweep.map(\.processID) == ["greet-20261130T0605"])
            #expect(sweep.first?.updatedAt == "2026-11-30T06:05:00.000Z")
            #expect(try await store.processStamps(after: sweep[0].cursor, limit: 5).map(\.processID) == ["old"])
            let counters = try await store.metricCounters()
            #expect(counters[CounterKey(.processes, ["greet", "pending"])] == 2)
            #expect(counters[CounterKey(.rejections, ["invalid_json"])] == 1)

            _ = try await store.commit(
                StoreBatch(changes: [Fixture.ended("old", created: 0, ended: 10, status: .success)]))
            #expect(try await store.prunePlan(before: at(11)) == PrunePlan(processIDs: ["old"], rejections: 1))
            #expect(
                try await store.prune(before: at(11), keeping: ["old"]) == PruneResult(processIDs: [], rejections: 1))
            #expect(
                try await store.prune(before: at(11), keeping: []) == PruneResult(processIDs: ["old"], rejections: 0))
            #expect(try await store.snapshot("old") == nil)
            #expect(try await store.events(of: "old", after: 0).isEmpty)
            #expect(try await store.snapshot("greet-20261130T0605") != nil)
            await store.setBusyTimeout(1)
            _ = try await store.commit(StoreBatch(changes: [Fixture.accepted("after", created: 400)]))
            await store.setBusyTimeout(nil)
            await store.checkpoint()
        }
    }

    @Test("the same calls give the same bytes on both stores")
    func identicalResults() async throws {
        @Sendable func scenario(_ store: any Store) async throws -> [String] {
            _ = try await store.commit(
                StoreBatch(
                    changes: (0..<5).map { Fixture.accepted("p\($0)", created: Double($0)) },
                    rejections: [
                        RejectionRecord(fileName: "x.json", receivedAt: at(3), code: .invalidInputs, message: "bad")
                    ]))
            _ = try await store.commit(
                StoreBatch(changes: [
                    Fixture.running("p1", created: 1, started: 7, states: ["done": .success, "later": .retrying]),
                    Fixture.ended("p2", created: 2, ended: 9, status: .failed),
                    Fixture.ended("p3", created: 3, ended: 9, status: .success),
                ]))
            var out: [String] = []
            out.append(try encoded(try await store.processes(ProcessQuery(limit: 100))))
            out.append(try encoded(try await store.snapshots((0..<5).map { "p\($0)" }).mapValues(\.tasks)))
            for id in (0..<5).map({ "p\($0)" }) { out.append(try encoded(try await store.events(of: id, after: 0))) }
            out.append(try encoded(try await store.rejections(RejectionQuery())))
            out.append(try encoded(try await store.statusCounts().mapKeys(\.rawValue)))
            out.append(try encoded(try await store.overview(unfinishedLimit: 10, recentLimit: 10).map(\.record)))
            out.append(try encoded(try await store.prunePlan(before: at(100)).processIDs))
            out.append(
                try encoded(
                    try await store.metricCounters().map { "\($0.key.metric.rawValue)\($0.key.values)=\($0.value)" }
                        .sorted()))
            return out
        }
        let sqlite = try await withStore(.sqlite, "same bytes") { try await scenario($0.store) }
        let postgres = try await withStore(.postgres, "same bytes") { try await scenario($0.store) }
        #expect(sqlite.count == postgres.count)
        #expect(sqlite[0].contains(#""process_id":"p4""#) && sqlite[2].contains("task_succeeded") == false)
        #expect(sqlite[3].contains("process_started"), "the events are there to compare")
        for (index, (a, b)) in zip(sqlite, postgres).enumerated() {
            #expect(a == b, "result \(index) differs")
        }
    }
}

extension Dictionary {
    fileprivate func mapKeys<K: Hashable>(_ transform: (Key) -> K) -> [K: Value] {
        [K: Value](uniqueKeysWithValues: map { (transform($0.key), $0.value) })
    }
}
