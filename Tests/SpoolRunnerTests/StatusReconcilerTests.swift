import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The pieces of convergence and pausing that need no runner.
@Suite(.endToEnd) struct StatusReconcilerTests {
    @Test func updatedAtIsTheTopLevelOneEvenWithAnInputOfThatName() throws {
        var record = ProcessRecord(
            processID: "p1", processType: "t", status: .running,
            inputs: ["updated_at": .string("1999-01-01T00:00:00.000Z")],
            requestJSON: "{}", createdAt: HistoryStoreTests.date("2026-01-01T00:00:00.000Z"),
            updatedAt: HistoryStoreTests.date("2026-01-01T00:00:01.000Z"))
        record.startedAt = HistoryStoreTests.date("2026-01-01T00:00:00.500Z")
        let data = StatusDocument(process: record, tasks: []).jsonData()
        #expect(StatusReconciler.updatedAt(in: data) == "2026-01-01T00:00:01.000Z")
        #expect(StatusReconciler.updatedAt(in: Data("{\"process_id\": ".utf8)) == nil)
        #expect(StatusReconciler.updatedAt(in: Data()) == nil)
    }

    @Test func onlyAFullDiskOrQuotaIsWaitedOut() {
        #expect(PauseReason(errno: ENOSPC) == .diskFull)
        #expect(PauseReason(errno: EDQUOT) == .quotaExceeded)
        #expect(PauseReason(errno: ENOENT) == nil)
        #expect(PauseReason(errno: EACCES) == nil)
    }

    @Test func backoffDoublesUpToItsMaximumAndResets() {
        var backoff = Backoff(initial: 0.1, maximum: 1)
        #expect((0..<6).map { _ in backoff.next() } == [0.1, 0.2, 0.4, 0.8, 1, 1])
        backoff.reset()
        #expect(backoff.next() == 0.1)
    }

    @Test func missingSpoolDirectoriesAreRestoredAndNamed() throws {
        let spool = try TemporarySpool()
        try FileManager.default.removeItem(atPath: spool.layout.outbox)
        try FileManager.default.removeItem(atPath: spool.layout.work)
        let (restored, failure) = spool.layout.restoreMissingDirectories()
        #expect(failure == nil)
        #expect(Set(restored) == [spool.layout.outbox, spool.layout.work])
        #expect(spool.layout.restoreMissingDirectories().restored.isEmpty)
    }

    @Test func aPauseIsReportedOncePerChange() {
        let changes = Counter()
        let pause = RunnerPause(logger: .init(label: "test")) { changes.increment() }
        pause.raise(.statusFiles, .diskFull, path: "/x", message: "full")
        pause.raise(.statusFiles, .diskFull, path: "/x", message: "full again")
        #expect(pause.isPaused)
        #expect(changes.value == 1)
        pause.raise(.store, .storeBusy, path: "/db", message: "busy")
        #expect(changes.value == 2)
        pause.clear(.statusFiles)
        pause.clear(.statusFiles)
        #expect(changes.value == 3)
        #expect(pause.isPaused)
        pause.clear(.store)
        #expect(!pause.isPaused)
        #expect(pause.last?.reason == .storeBusy)
        #expect(pause.last?.endedAt != nil)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() {
            lock.lock()
            count += 1
            lock.unlock()
        }
        var value: Int {
            lock.lock()
            defer { lock.unlock() }
            return count
        }
    }
}
