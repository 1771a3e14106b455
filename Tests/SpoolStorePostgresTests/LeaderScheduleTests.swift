import Foundation
import Logging
import ProcessDefinitions
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// Schedule slots inserted straight into the PostgreSQL store by the leader (SPEC §9).
@Suite("Schedule slots in the PostgreSQL store")
struct LeaderScheduleTests {
    static let yaml = """
        process_type: tick
        inputs:
          who: {type: string, default: nobody}
        schedule:
          - cron: "* * * * *"
            catch_up: all
            inputs: {who: cron}
        tasks:
          - name: nap
            sleep: 1ms
        """

    /// Two runners that both believe they lead (a partition) run a pass of the real `Scheduler`
    /// at the same time, each with 100 slots due since the entry's last slot: the slots' ids
    /// decide, and the store holds exactly 100 processes, each inserted by one of them.
    @Test("two leaders inserting the same 100 schedule slots at once create 100 processes")
    func twoLeadersOneProcessPerSlot() async throws {
        try await withStores("schedule_slots", count: 2) { stores in
            let definition = try #require(
                try? DefinitionLoader.parse(yaml: Self.yaml, file: "tick.yaml", baseDirectory: "/").get())
            let catalog = DefinitionCatalog(definitions: ["tick": definition], errors: [])
            // 10:00:30 on the schedule clock; the last slot dealt with was 08:20: 100 slots due
            // (08:21 … 10:00), 99 of them missed, all submitted under catch_up: all.
            let now = try #require(Timestamp.parse("2026-07-20T10:00:30Z"))
            for store in stores {
                _ = try await store.registerTestRunner()
                try await store.useDefinitions(["tick": Self.yaml])
            }
            try await stores[0].saveScheduleState(
                ScheduleStateRecord(
                    processType: "tick", entry: "", lastSlot: "2026-07-20T08:20:00.000Z", lastProcessID: nil,
                    lastSubmittedAt: nil, updatedAt: "2026-07-20T08:20:00.000Z"), events: [])
            let layout = SpoolLayout(root: NSTemporaryDirectory() + "slots-\(UUID().uuidString)")
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for store in stores {
                    group.addTask {
                        var scheduler = Scheduler(
                            layout: layout, store: store, clock: ScheduleClock(startingAt: now), logger: quietLogger)
                        return try await scheduler.pass(catalog: catalog)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counts == [100, 100])
            let ids: [String] = try await stores[0].values("SELECT process_id FROM processes ORDER BY process_id")
            #expect(ids.count == 100)
            #expect(ids.first == "tick-20260720T0821" && ids.last == "tick-20260720T1000")
            // Each slot inserted once: one accepted event, one subscriber (the leader that
            // inserted it), no owner, pending, with the entry's inputs and all its tasks.
            let accepted: Int64? = try await stores[0].value("SELECT count(*) FROM events WHERE event = 'accepted'")
            #expect(accepted == 100)
            let subscriptions: Int64? = try await stores[0].value("SELECT count(*) FROM subscriptions")
            #expect(subscriptions == 100)
            let owned: Int64? = try await stores[0].value(
                "SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL OR status <> 'pending'")
            #expect(owned == 0)
            let tasks: Int64? = try await stores[0].value("SELECT count(*) FROM tasks WHERE status = 'pending'")
            #expect(tasks == 100)
            let stored = try #require(try await stores[1].snapshot("tick-20260720T0900"))
            #expect(stored.record.inputs == ["who": .string("cron")])
            #expect(stored.record.requestJSON.hasSuffix("\n"))
            // The state moved to the newest slot, in the same transactions.
            let last: String? = try await stores[0].value(
                "SELECT to_char(last_slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') FROM schedule_state")
            #expect(last == "2026-07-20T10:00")
            // A pass of a leader with an older view never moves the state back.
            try await stores[1].saveScheduleState(
                ScheduleStateRecord(
                    processType: "tick", entry: "", lastSlot: "2026-07-20T09:00:00.000Z", lastProcessID: nil,
                    lastSubmittedAt: nil, updatedAt: "2026-07-20T09:00:00.000Z"), events: [])
            let still: String? = try await stores[0].value(
                "SELECT to_char(last_slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') FROM schedule_state")
            #expect(still == "2026-07-20T10:00")
            // Nothing went through a spool.
            #expect(!FileManager.default.fileExists(atPath: layout.inbox))
        }
    }
}
