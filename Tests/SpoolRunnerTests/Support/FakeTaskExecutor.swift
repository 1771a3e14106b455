import Foundation
import ProcessDefinitions
import Synchronization

@testable import SpoolRunner

/// A `TaskExecuting` that runs nothing: every attempt waits until the test ends it (`succeed`,
/// `fail`), or until the engine stops it (cancel, process timeout, end of the grace), which ends
/// it the way `TaskExecutor` reports a stop.
///
/// With it a test decides when and how each attempt ends, and checks what the engine does next,
/// without a child process or a real wait. The real executor keeps its own tests, with real
/// child processes and signals.
final class FakeTaskExecutor: TaskExecuting {
    /// One attempt of one task.
    struct Attempt: Hashable, Sendable, CustomStringConvertible {
        var processID: String
        var task: String
        var number: Int

        var description: String { "\(processID)/\(task)#\(number)" }
    }

    private struct State {
        var started: [Attempt] = []
        var stopped: [Attempt: StopHandle.Reason] = [:]
        var waiting: [Attempt: CheckedContinuation<TaskOutcome, Never>] = [:]
        /// Ends decided before the attempt reached its wait.
        var decided: [Attempt: TaskOutcome] = [:]
    }

    private let state = Mutex(State())
    /// Where an ending attempt reads its end time (the engine's clock in the test).
    private let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    func run(_ launch: TaskLaunch, stop: StopHandle, spawned: @escaping @Sendable (Int32, Int64?) -> Void) async
        -> TaskOutcome
    {
        let attempt = Attempt(processID: launch.processID, task: launch.taskName, number: launch.attempt)
        stop.onStop { [self] reason in
            state.withLock { $0.stopped[attempt] = reason }
            end(attempt, with: TaskExecutor.stopped(reason, launch: launch))
        }
        return await withCheckedContinuation { continuation in
            let decided = state.withLock { state -> TaskOutcome? in
                state.started.append(attempt)
                if let outcome = state.decided.removeValue(forKey: attempt) { return outcome }
                state.waiting[attempt] = continuation
                return nil
            }
            if let decided { continuation.resume(returning: decided) }
        }
    }

    // MARK: - What the test sees and does

    /// Every attempt started so far, in start order.
    var started: [Attempt] { state.withLock { $0.started } }

    /// Attempts started and not yet ended.
    var running: [Attempt] { state.withLock { Array($0.waiting.keys) } }

    /// Why the engine stopped `attempt`, if it did.
    func stopReason(_ processID: String, _ task: String, attempt: Int = 1) -> StopHandle.Reason? {
        state.withLock { $0.stopped[Attempt(processID: processID, task: task, number: attempt)] }
    }

    /// Waits (suspending) until the engine started the attempt; returns whether it did within
    /// `timeout` seconds.
    func waitUntilStarted(_ processID: String, _ task: String, attempt: Int = 1, timeout: Double = 30) async -> Bool {
        let wanted = Attempt(processID: processID, task: task, number: attempt)
        let deadline = Date().addingTimeInterval(timeout)
        while !started.contains(wanted) {
            if Date() >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Ends the attempt with exit status 0 and, optionally, an output object.
    func succeed(_ processID: String, _ task: String, attempt: Int = 1, output: [String: JSONValue]? = nil) {
        end(
            Attempt(processID: processID, task: task, number: attempt),
            with: TaskOutcome(exitCode: 0, output: output, endedAt: now()))
    }

    /// Ends the attempt as a task whose command exited with `exitCode`.
    func fail(_ processID: String, _ task: String, attempt: Int = 1, exitCode: Int = 1) {
        end(
            Attempt(processID: processID, task: task, number: attempt),
            with: TaskOutcome(
                exitCode: exitCode,
                failure: FailureInfo(code: .exitStatus, message: "exited with status \(exitCode)", task: task),
                endedAt: now()))
    }

    private func end(_ attempt: Attempt, with outcome: TaskOutcome) {
        let waiter = state.withLock { state -> CheckedContinuation<TaskOutcome, Never>? in
            if let waiter = state.waiting.removeValue(forKey: attempt) { return waiter }
            if state.decided[attempt] == nil { state.decided[attempt] = outcome }
            return nil
        }
        waiter?.resume(returning: outcome)
    }
}
