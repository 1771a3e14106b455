import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner
@testable import SpoolStore

/// The coordination operations of a store with one runner (SPEC §9 keeps SQLite as it was): the
/// flock is the lease, a claim hands out every unfinished process, the runner always leads, and
/// nothing changes behind its back.
@Suite(.endToEnd) struct StoreCoordinationTests {
    static func process(_ id: String, _ status: ProcessStatus) -> StoreBatch.Change {
        var record = HistoryStoreTests.sampleProcess(id)
        record.status = status
        if !status.isFinal { record.endedAt = nil }
        let task = TaskRecord(processID: id, taskName: "only", position: 0, mode: .sync, onFailure: false)
        return .init(record: record, isNew: true, processChanged: true, tasks: [task], events: [])
    }

    @Test func claimHandsOutEveryUnfinishedProcessWhateverTheLimit() async throws {
        let store = try SQLiteStore(inMemory: ())
        #expect(!store.sharesWork)
        _ = try await store.commit(
            StoreBatch(changes: [
                Self.process("a", .pending), Self.process("b", .running), Self.process("c", .success),
                Self.process("d", .failed),
            ]))
        let claimed = try await store.claim(limit: 1, concurrency: ["premium_subscription": 1])
        #expect(claimed.map(\.process.record.processID).sorted() == ["a", "b"])
        #expect(claimed.allSatisfy { $0.definition == nil && !$0.fromDeadIncarnation })
        #expect(claimed.first { $0.process.record.processID == "a" }?.process.tasks.map(\.taskName) == ["only"])
        // Claiming does not take them from anyone: the next claim (a restart) sees them again.
        #expect(try await store.claim(limit: 10, concurrency: [:]).count == 2)
        // Nothing to hand over or take over: one runner.
        try await store.release(["a"])
        try await store.leave()
        #expect(try await store.reapExpiredRunners().isEmpty)
        #expect(try await store.claim(limit: 10, concurrency: [:]).count == 2)
    }

    @Test func theOnlyRunnerLeadsAndNothingChangesBehindItsBack() async throws {
        let store = try SQLiteStore(inMemory: ())
        var leadership: [Bool] = []
        for await leads in store.leadership() { leadership.append(leads) }
        #expect(leadership == [true])
        var changes: [StoreChange] = []
        for await change in store.changes() { changes.append(change) }
        #expect(changes.isEmpty)
    }

    @Test func theLeaseIsHeldUntilTheRunnerStops() async throws {
        let store = try SQLiteStore(inMemory: ())
        let keeper = Task { await store.keepLease(runningTasks: { 0 }, renewed: { _ in }) }
        try await Task.sleep(for: .milliseconds(200))
        keeper.cancel()
        #expect(await keeper.value == .cancelled)
        #expect(try await store.renewIncarnation().expiresAt == nil)
    }
}
