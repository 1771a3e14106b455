import Foundation
import ProcessDefinitions
import Synchronization

@testable import SpoolRunner

/// An `EngineClock` that moves only when the test says so.
///
/// The engine arms its retry, process-timeout and grace timers on it, and paces its heartbeat
/// and rescans (and, given `scheduleClock`, the schedule loop) by it; `advance(by:)` moves the
/// time and fires every timer that fell due, so a test checks a ten-minute backoff without
/// waiting ten minutes. It starts at the real time, so dates it gives look like any others.
final class ManualClock: Sendable {
    private struct Sleeper {
        var deadline: Date
        /// How long the sleep was when armed.
        var length: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
    }

    private let state: Mutex<State>

    init(start: Date = Date()) {
        state = Mutex(State(now: start))
    }

    var now: Date { state.withLock { $0.now } }

    /// Timers armed for `atLeast` or longer and not yet due. The heartbeat, the rescan and the
    /// schedule loop keep short ones armed all the time: a test looking for its retry or
    /// timeout counts the long ones.
    func pendingTimers(atLeast: Duration = .zero) -> Int {
        state.withLock { $0.sleepers.values.filter { $0.length >= atLeast }.count }
    }

    /// The clock the engine is configured with.
    var engineClock: EngineClock {
        EngineClock(now: { self.now }, sleep: { try await self.sleep(for: $0) })
    }

    /// The same clock, for the schedule loop.
    var scheduleClock: ScheduleClock {
        ScheduleClock(engineClock)
    }

    /// Moves the time on by `duration` and wakes every timer now due.
    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now += duration.seconds
            let now = state.now
            let ids = state.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }

    /// Waits (suspending) until at least `count` timers of `atLeast` or longer are armed;
    /// returns whether they were within `timeout` seconds of real time.
    func waitForTimers(_ count: Int = 1, atLeast: Duration = .zero, timeout: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while pendingTimers(atLeast: atLeast) < count {
            if Date() >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    private func sleep(for duration: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let deadline = state.now + duration.seconds
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, length: duration, continuation: continuation)
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }
}
