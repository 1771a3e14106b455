import Foundation
import Testing

@testable import SpoolRunner

/// SPEC §5 "Ordering": sync holds up what follows, async holds up nothing, `needs` replaces the
/// rule, the process ends when every task has. Each shape is checked twice: by the recorded
/// timestamps, and by marker files that the tasks themselves require (a task that starts too
/// early, or two tasks that should overlap but do not, make a task fail).
@Suite(.endToEnd) struct OrderingTests {
    /// Runs one process of `yaml` to its end and returns its status.
    static func runProcess(
        _ yaml: String, id: String = "p1", configure: (inout EngineConfiguration) -> Void = { _ in }
    ) async throws -> (TemporarySpool, StatusDocument) {
        let spool = try TemporarySpool()
        try spool.define("shape.yaml", yaml)
        try spool.drop(id, #"{"process_type": "shape"}"#)
        try await runEngineOnce(spool, configure: configure)
        let status = try #require(spool.status(id))
        for task in status.tasks {
            #expect(
                task.status == .success,
                "\(task.taskName) \(task.status): \(String(describing: task.error)) \(spool.logText(id, task: task.taskName, attempt: 1) ?? "")"
            )
        }
        #expect(status.status == .success)
        return (spool, status)
    }

    static func times(_ task: StatusDocument.Task) throws -> (start: Date, end: Date) {
        (try instant(task.startedAt), try instant(task.endedAt))
    }

    @Test func syncChainRunsOneAfterAnother() async throws {
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: a
                shell: 'sleep 0.1; touch a.done'
              - name: b
                shell: 'test -f a.done && sleep 0.1 && touch b.done'
              - name: c
                mode: sync
                shell: 'test -f a.done && test -f b.done'
            """)
        #expect(status.tasks.map(\.taskName) == ["a", "b", "c"])
        let a = try Self.times(status.task("a"))
        let b = try Self.times(status.task("b"))
        let c = try Self.times(status.task("c"))
        #expect(b.start >= a.end)
        #expect(c.start >= b.end)
        #expect(try instant(status.endedAt) >= c.end)
    }

    @Test func builtInSleepTasksFollowTheRule() async throws {
        // a (sync) holds up b and c; b (async) holds up nothing, so c runs while b sleeps.
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: a
                sleep: 200ms
              - name: b
                mode: async
                sleep: 600ms
              - name: c
                sleep: 10ms
            """)
        let a = try Self.times(status.task("a"))
        let b = try Self.times(status.task("b"))
        let c = try Self.times(status.task("c"))
        #expect(b.start >= a.end)
        #expect(c.start >= a.end)
        #expect(c.start < b.end)
        #expect(try instant(status.endedAt) >= b.end)
        #expect(status.tasks.map(\.exitCode) == [0, 0, 0])
    }

    @Test func asyncFanOutJoinedWithNeeds() async throws {
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: start
                shell: 'touch start.done'
              - name: x
                mode: async
                shell: 'test -f start.done && touch x.started && \(waitForMarker("y.started")) && touch x.done'
              - name: y
                mode: async
                shell: 'test -f start.done && touch y.started && \(waitForMarker("x.started")) && sleep 0.2 && touch y.done'
              - name: join
                needs: [x, y]
                shell: 'test -f x.done && test -f y.done'
            """)
        let start = try Self.times(status.task("start"))
        let x = try Self.times(status.task("x"))
        let y = try Self.times(status.task("y"))
        let join = try Self.times(status.task("join"))
        #expect(x.start >= start.end)
        #expect(y.start >= start.end)
        // x and y ran at the same time (each also waited for the other's marker).
        #expect(x.start < y.end && y.start < x.end)
        // join waited for both, the slower one included.
        #expect(join.start >= x.end)
        #expect(join.start >= y.end)
    }

    @Test func asyncAfterAsyncHoldsNothingUp() async throws {
        // No sync task before any of them: all three start at once. Each waits for the other two.
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: a
                mode: async
                shell: 'touch a.started && \(waitForMarker("b.started")) && \(waitForMarker("c.started"))'
              - name: b
                mode: async
                shell: 'touch b.started && \(waitForMarker("a.started")) && \(waitForMarker("c.started"))'
              - name: c
                shell: 'touch c.started && \(waitForMarker("a.started")) && \(waitForMarker("b.started"))'
            """)
        let a = try Self.times(status.task("a"))
        let b = try Self.times(status.task("b"))
        let c = try Self.times(status.task("c"))
        #expect(b.start < a.end && c.start < a.end && c.start < b.end)
        #expect(try instant(status.endedAt) >= max(a.end, b.end, c.end))
    }

    @Test func asyncTaskIsStillRunningWhileLaterSyncTasksFinish() async throws {
        // `slow` is async: b and c go on without it, and the process still waits for it to end.
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: slow
                mode: async
                shell: '\(waitForMarker("c.done")) && sleep 0.4 && touch slow.done'
              - name: b
                shell: 'touch b.done'
              - name: c
                shell: 'test -f b.done && touch c.done'
            """)
        let slow = try Self.times(status.task("slow"))
        let b = try Self.times(status.task("b"))
        let c = try Self.times(status.task("c"))
        #expect(c.start >= b.end)
        #expect(c.end <= slow.end)
        #expect(try instant(status.endedAt) >= slow.end)
    }

    @Test func needsMayNameALaterTask() async throws {
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: second
                needs: [first]
                shell: 'test -f first.done'
              - name: first
                needs: []
                shell: 'sleep 0.1; touch first.done'
            """)
        let second = try Self.times(status.task("second"))
        let first = try Self.times(status.task("first"))
        #expect(second.start >= first.end)
        #expect(status.tasks.map(\.taskName) == ["second", "first"])
    }

    @Test func maxTasksBoundsParallelTasks() async throws {
        // With --max-tasks 1 even async tasks run one at a time.
        let (_, status) = try await Self.runProcess(
            """
            tasks:
              - name: x
                mode: async
                sleep: 150ms
              - name: y
                mode: async
                sleep: 150ms
              - name: z
                mode: async
                sleep: 150ms
            """, configure: { $0.maxTasks = 1 })
        let spans = try status.tasks.map(Self.times).sorted { $0.start < $1.start }
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            #expect(later.start >= earlier.end)
        }
    }

    @Test func definitionConcurrencyBoundsProcessesOfAType() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "single.yaml",
            """
            concurrency: 1
            tasks:
              - name: work
                sleep: 200ms
            """)
        for id in ["c1", "c2", "c3"] { try spool.drop(id, #"{"process_type": "single"}"#) }
        try await runEngineOnce(spool)
        let spans = try ["c1", "c2", "c3"].map { id in
            let status = try #require(spool.status(id))
            #expect(status.status == .success)
            return (try instant(status.startedAt), try instant(status.endedAt))
        }.sorted { $0.0 < $1.0 }
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            #expect(later.0 >= earlier.1)
        }
    }

    @Test func independentProcessesRunSideBySide() async throws {
        let spool = try TemporarySpool()
        let shared = spool.root.appendingPathComponent("rendezvous").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try spool.define(
            "meet.yaml",
            """
            tasks:
              - name: meet
                shell: 'touch "$DIR/$SPOOL_PROCESS_ID" && i=0; while [ $(ls "$DIR" | wc -l) -lt 2 ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done'
                env: {DIR: "\(shared)"}
            """)
        try spool.drop("m1", #"{"process_type": "meet"}"#)
        try spool.drop("m2", #"{"process_type": "meet"}"#)
        try await runEngineOnce(spool)
        #expect(spool.status("m1")?.status == .success)
        #expect(spool.status("m2")?.status == .success)
    }
}
