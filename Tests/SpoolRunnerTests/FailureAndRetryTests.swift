import Foundation
import Testing

@testable import SpoolRunner

/// SPEC §5: a task that fails for good stops new tasks, lets running ones finish, skips the rest,
/// runs `on_failure` and fails the process; `retry:` and `continue_on_failure`; task and process
/// timeouts.
@Suite(.endToEnd) struct FailureAndRetryTests {
    static func run(_ yaml: String, id: String = "p1") async throws -> (
        TemporarySpool, StatusDocument, elapsed: Double
    ) {
        let spool = try TemporarySpool()
        try spool.define("flow.yaml", yaml)
        try spool.drop(id, #"{"process_type": "flow"}"#)
        let began = Date()
        try await runEngineOnce(spool)
        let elapsed = Date().timeIntervalSince(began)
        return (spool, try #require(spool.status(id), "no status file"), elapsed)
    }

    // MARK: - Failure

    @Test func failureSkipsWhatIsLeftLetsRunningTasksFinishAndRunsOnFailure() async throws {
        let (spool, status, _) = try await Self.run(
            """
            tasks:
              - name: slow
                mode: async
                shell: 'touch slow.started && \(waitForMarker("bad.failing")) && sleep 0.3 && touch slow.done'
              - name: bad
                mode: async
                shell: '\(waitForMarker("slow.started")) && touch bad.failing && echo boom >&2 && exit 3'
              - name: after_bad
                needs: [bad]
                shell: 'touch after_bad.ran'
              - name: after_slow
                needs: [slow]
                shell: 'touch after_slow.ran'
            on_failure:
              - name: cleanup
                shell: 'test -f slow.done && echo "{\\"cleaned\\": true}"'
              - name: cleanup_more
                shell: 'touch cleanup_more.ran'
            """)
        #expect(status.status == .failed)
        let error = try #require(status.error)
        #expect(error.code == "exit_status")
        #expect(error.task == "bad")
        #expect(error.message.contains("bad"))
        // Definition order, then the on_failure tasks that ran.
        #expect(status.tasks.map(\.taskName) == ["slow", "bad", "after_bad", "after_slow", "cleanup", "cleanup_more"])

        let bad = try status.task("bad")
        #expect(bad.status == .failed)
        #expect(bad.exitCode == 3)
        #expect(bad.error?.code == "exit_status")
        #expect(bad.error?.task == "bad")
        #expect(spool.logText("p1", task: "bad", attempt: 1)?.contains("boom") == true)

        // Running when bad failed: it finished, and succeeded.
        let slow = try status.task("slow")
        #expect(slow.status == .success)
        #expect(spool.workFile("p1", "slow.done") != nil)

        // Not started: skipped, even after_slow whose own dependency succeeded.
        for name in ["after_bad", "after_slow"] {
            let task = try status.task(name)
            #expect(task.status == .skipped, "\(name)")
            #expect(task.attempts == 0 && task.startedAt == nil, "\(name)")
            #expect(spool.workFile("p1", "\(name).ran") == nil, "\(name) ran")
        }

        // on_failure ran after every running task had ended.
        let cleanup = try status.task("cleanup")
        #expect(cleanup.status == .success)
        #expect(cleanup.output == ["cleaned": .bool(true)])
        let cleanupStarted = try instant(cleanup.startedAt)
        #expect(cleanupStarted >= (try instant(slow.endedAt)))
        #expect(cleanupStarted >= (try instant(bad.endedAt)))
        #expect(try status.task("cleanup_more").status == .success)
        #expect(try instant(status.endedAt) >= (try instant(status.task("cleanup_more").endedAt)))

        let events = try spool.eventNames("p1")
        #expect(events.contains("bad:task_failed"))
        #expect(events.contains("after_bad:task_skipped"))
        #expect(events.last == "process_failed")
    }

    @Test func syncFailureSkipsEverythingAfterIt() async throws {
        let (_, status, _) = try await Self.run(
            """
            tasks:
              - name: ok
                shell: 'true'
              - name: broken
                run: ["/bin/sh", "-c", "exit 7"]
              - name: later_async
                mode: async
                shell: 'true'
              - name: later
                shell: 'true'
            """)
        #expect(status.status == .failed)
        #expect(status.error?.task == "broken")
        #expect(status.tasks.map(\.status) == [.success, .failed, .skipped, .skipped])
        #expect(try status.task("broken").exitCode == 7)
    }

    @Test func onFailureTasksAreNotListedWhenNothingFails() async throws {
        let (spool, status, _) = try await Self.run(
            """
            tasks:
              - name: fine
                shell: 'true'
            on_failure:
              - name: cleanup
                shell: 'touch cleanup.ran'
            """)
        #expect(status.status == .success)
        #expect(status.tasks.map(\.taskName) == ["fine"])
        #expect(spool.workFile("p1", "cleanup.ran") == nil)
    }

    @Test func continueOnFailureKeepsTheProcessGoing() async throws {
        let (spool, status, _) = try await Self.run(
            """
            tasks:
              - name: first
                shell: 'true'
              - name: optional
                mode: async
                continue_on_failure: true
                shell: 'touch optional.failing; exit 4'
              - name: needs_optional
                mode: async
                needs: [optional]
                shell: 'touch needs_optional.ran'
              - name: last
                shell: '\(waitForMarker("optional.failing")) && sleep 0.5 && touch last.done'
              - name: final
                shell: 'test -f last.done'
            on_failure:
              - name: cleanup
                shell: 'touch cleanup.ran'
            """)
        let optional = try status.task("optional")
        #expect(optional.status == .failed)
        #expect(optional.exitCode == 4)
        #expect(optional.error?.code == "exit_status")
        // The rest went on: final started once optional had failed.
        let last = try status.task("last")
        #expect(last.status == .success)
        #expect(spool.workFile("p1", "last.done") != nil)
        let final = try status.task("final")
        #expect(final.status == .success)
        #expect(try instant(final.startedAt) >= (try instant(optional.endedAt)))
        // What needs the failed task cannot run.
        #expect(try status.task("needs_optional").status == .skipped)
        // The process did not fail, and its on_failure did not run.
        #expect(status.status == .success)
        #expect(status.error == nil)
        #expect(spool.workFile("p1", "cleanup.ran") == nil)
    }

    // MARK: - Retry

    @Test func taskFailingOnceSucceedsOnItsSecondAttempt() async throws {
        let (spool, status, _) = try await Self.run(
            """
            tasks:
              - name: flaky
                shell: 'echo "attempt $SPOOL_ATTEMPT"; if [ "$SPOOL_ATTEMPT" -lt 2 ]; then echo "not yet" >&2; exit 1; fi; echo "{\\"attempt\\": $SPOOL_ATTEMPT}"'
                retry: {max_attempts: 3, backoff: 50ms, max_backoff: 100ms}
              - name: after
                shell: 'true'
            """)
        #expect(status.status == .success)
        let flaky = try status.task("flaky")
        #expect(flaky.status == .success)
        #expect(flaky.attempts == 2)
        #expect(flaky.exitCode == 0)
        #expect(flaky.error == nil)
        #expect(flaky.output == ["attempt": .integer(2)])
        #expect(try status.task("after").status == .success)

        let first = try #require(spool.logText("p1", task: "flaky", attempt: 1))
        #expect(first.contains("attempt 1") && first.contains("not yet"))
        let second = try #require(spool.logText("p1", task: "flaky", attempt: 2))
        #expect(second.contains("attempt 2") && !second.contains("not yet"))
        #expect(spool.logText("p1", task: "flaky", attempt: 3) == nil)

        let events = try spool.eventNames("p1").filter { $0.hasPrefix("flaky:") }
        #expect(events == ["flaky:task_started", "flaky:task_retrying", "flaky:task_started", "flaky:task_succeeded"])

        let cli = try await spool.run(["events", "p1"])
        #expect(cli.status == 0, "\(cli.standardError)")
        let retryLine = try #require(cli.standardOutput.split(separator: "\n").first { $0.contains("task_retrying") })
        #expect(retryLine.contains("flaky"))
        #expect(retryLine.contains("exit_status"))
    }

    @Test func retriesSpentFailTheTask() async throws {
        let (spool, status, _) = try await Self.run(
            """
            tasks:
              - name: hopeless
                shell: 'echo "try $SPOOL_ATTEMPT" >> tries.txt; exit 1'
                retry: {max_attempts: 3, backoff: 20ms, max_backoff: 40ms}
            """)
        #expect(status.status == .failed)
        let task = try status.task("hopeless")
        #expect(task.status == .failed)
        #expect(task.attempts == 3)
        #expect(status.error?.task == "hopeless")
        #expect(spool.workFile("p1", "tries.txt") == "try 1\ntry 2\ntry 3\n")
        #expect(try spool.eventNames("p1").filter { $0 == "hopeless:task_retrying" }.count == 2)
        for attempt in 1...3 { #expect(spool.logText("p1", task: "hopeless", attempt: attempt) != nil) }
    }

    @Test func missingProgramFailsWithSpawnFailed() async throws {
        let (_, status, _) = try await Self.run(
            """
            tasks:
              - name: ghost
                run: ["scripts/does_not_exist.sh"]
            """)
        #expect(status.status == .failed)
        let ghost = try status.task("ghost")
        #expect(ghost.status == .failed)
        #expect(ghost.error?.code == "spawn_failed")
        #expect(status.error?.task == "ghost")
    }

    // MARK: - Timeouts

    @Test(arguments: [
        "shell: 'sleep 30'",
        "run: [\"/bin/sleep\", \"30\"]",
        "sleep: 30s",
        "shell: 'sleep 30 & wait'",
    ])
    func taskTimeoutStopsTheTask(action: String) async throws {
        let (_, status, elapsed) = try await Self.run(
            """
            tasks:
              - name: stuck
                \(action)
                timeout: 300ms
              - name: after
                shell: 'true'
            """)
        #expect(status.status == .failed)
        let stuck = try status.task("stuck")
        #expect(stuck.status == .failed)
        #expect(stuck.error?.code == "timeout")
        #expect(status.error?.code == "timeout")
        #expect(status.error?.task == "stuck")
        #expect(try status.task("after").status == .skipped)
        #expect(elapsed < 20, "took \(elapsed) s for a 300ms timeout")
    }

    @Test(.waitsOnTimers) func taskIgnoringSIGTERMIsKilled() async throws {
        // SIGTERM first, SIGKILL after 5 s.
        let (_, status, elapsed) = try await Self.run(
            """
            tasks:
              - name: stubborn
                shell: 'trap "" TERM; sleep 30'
                timeout: 200ms
            """)
        #expect(try status.task("stubborn").error?.code == "timeout")
        #expect(status.status == .failed)
        #expect(elapsed < 25, "took \(elapsed) s")
    }

    @Test func timedOutAttemptIsRetried() async throws {
        let (_, status, _) = try await Self.run(
            """
            tasks:
              - name: slow_first
                shell: 'if [ "$SPOOL_ATTEMPT" = 1 ]; then sleep 30; fi; echo "{\\"attempt\\": $SPOOL_ATTEMPT}"'
                timeout: 300ms
                retry: {max_attempts: 2, backoff: 50ms}
            """)
        #expect(status.status == .success)
        let task = try status.task("slow_first")
        #expect(task.attempts == 2)
        #expect(task.output == ["attempt": .integer(2)])
    }

    @Test func processTimeoutStopsRunningTasksAndFailsTheProcess() async throws {
        let (spool, status, elapsed) = try await Self.run(
            """
            timeout: 500ms
            tasks:
              - name: long
                shell: 'sleep 30'
              - name: next
                shell: 'true'
            on_failure:
              - name: cleanup
                shell: 'touch cleanup.ran'
            """)
        #expect(status.status == .failed)
        let error = try #require(status.error)
        #expect(error.code == "timeout")
        let long = try status.task("long")
        #expect(long.status == .failed)
        #expect(long.error?.code == "timeout")
        #expect(try status.task("next").status == .skipped)
        #expect(try status.task("cleanup").status == .success)
        #expect(spool.workFile("p1", "cleanup.ran") != nil)
        #expect(elapsed < 20, "took \(elapsed) s for a 500ms process timeout")
    }
}
