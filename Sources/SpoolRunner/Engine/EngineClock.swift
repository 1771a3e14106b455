import Foundation

/// The clock the engine's own decisions run on: when a batch happens (`now`), and the timers it
/// arms for retry backoffs, process timeouts and the shutdown grace.
///
/// `serve` uses the system clock. Tests give the engine a clock they move by hand, so a backoff
/// of ten minutes or a process timeout of an hour is checked in milliseconds, exactly as the
/// engine decides it. Heartbeats, rescans, the exit sweep and the executor's own task timeouts
/// keep real time: they pace the runner rather than decide a process's fate.
struct EngineClock: Sendable {
    /// Now, as the engine records it.
    var now: @Sendable () -> Date
    /// Suspends for `duration` of this clock's time; throws when the waiting task is cancelled.
    var sleep: @Sendable (Duration) async throws -> Void

    static let system = EngineClock(now: { Date() }, sleep: { try await Task.sleep(for: $0) })
}
