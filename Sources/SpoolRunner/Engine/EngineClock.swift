import Foundation

/// The clock the engine's own decisions run on: when a batch happens (`now`), the timers it
/// arms for retry backoffs, process timeouts and the shutdown grace, and the pace of its
/// heartbeat (`runner.json`) and rescans; schedules follow it too when the test asks
/// (`ScheduleClock(_:)`).
///
/// `serve` uses the system clock. Tests give the engine a clock they move by hand, so a backoff
/// of ten minutes, a process timeout of an hour, or an hourly rescan is checked in milliseconds,
/// exactly as the engine decides it. The exit sweep and the executor's own task timeouts keep
/// real time: they watch real child processes.
struct EngineClock: Sendable {
    /// Now, as the engine records it.
    var now: @Sendable () -> Date
    /// Suspends for `duration` of this clock's time; throws when the waiting task is cancelled.
    var sleep: @Sendable (Duration) async throws -> Void

    static let system = EngineClock(now: { Date() }, sleep: { try await Task.sleep(for: $0) })
}
