import Foundation

/// The wall clock schedules are computed with: the real one, or, for tests, one that starts at
/// a chosen instant and then runs at the real pace or faster (`SPOOLRUNNER_SCHEDULE_CLOCK`,
/// `SPOOLRUNNER_SCHEDULE_CLOCK_RATE`, `SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR`), or an engine clock a
/// test moves by hand. A fleet test runs `* * * * *` at 60× (a slot per real second) on three
/// runners that agree on the time, since they share the anchor.
///
/// Tests use it to put a real runner a few seconds before a slot, across a DST change, or three
/// hours after the last run, without waiting for real minutes. Only schedules and the passes of
/// `serve --prune-after` (when, and their cutoff) read it: request
/// timestamps, timeouts and backoffs keep the engine's clock.
public struct ScheduleClock: Sendable {
    private let read: @Sendable () -> Date
    /// Waits for `duration` of this clock's time (the schedule loop's pause between passes).
    let sleep: @Sendable (Duration) async throws -> Void

    public static let real = ScheduleClock(offset: 0)

    /// The environment variable that sets a test clock: an ISO 8601 instant such as
    /// `2026-03-29T00:59:57Z`, the time the clock reads when the runner starts (or at the anchor).
    public static let environmentKey = "SPOOLRUNNER_SCHEDULE_CLOCK"
    /// How many clock seconds pass per real second (a positive number, default 1).
    public static let rateKey = "SPOOLRUNNER_SCHEDULE_CLOCK_RATE"
    /// The real instant (ISO 8601) at which the clock reads `SPOOLRUNNER_SCHEDULE_CLOCK`, so that
    /// runners started at different times agree; default: when the runner starts.
    public static let anchorKey = "SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR"

    /// A clock that reads `start` now and runs on from there.
    public init(startingAt start: Date) {
        self.init(offset: start.timeIntervalSinceNow)
    }

    /// A clock that reads `start` at the real instant `anchor`, and runs `rate` times as fast as
    /// the real one from there (its sleeps are as much shorter).
    public init(startingAt start: Date, anchor: Date, rate: Double) {
        read = { start.addingTimeInterval(Date().timeIntervalSince(anchor) * rate) }
        sleep = { try await Task.sleep(for: $0 / rate) }
    }

    /// `offset`: what the clock reads minus what the real clock reads.
    init(offset: TimeInterval) {
        read = { Date(timeIntervalSinceNow: offset) }
        sleep = { try await Task.sleep(for: $0) }
    }

    /// The engine's clock (a test's, which moves only when told): schedule passes then come
    /// when the test moves it.
    init(_ clock: EngineClock) {
        read = clock.now
        sleep = clock.sleep
    }

    /// The clock the environment asks for: the real one unless `SPOOLRUNNER_SCHEDULE_CLOCK` is
    /// set. - Throws: a message naming the variable when its value is not an instant.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ScheduleClockError) -> ScheduleClock
    {
        guard let text = environment[environmentKey], !text.isEmpty else { return .real }
        guard let start = Timestamp.parse(text) else {
            throw ScheduleClockError(
                message: "\(environmentKey)=\(text) is not an ISO 8601 instant such as 2026-03-29T00:59:57Z")
        }
        var rate = 1.0
        if let text = environment[rateKey], !text.isEmpty {
            guard let value = Double(text), value > 0, value.isFinite else {
                throw ScheduleClockError(message: "\(rateKey)=\(text) is not a positive number such as 60")
            }
            rate = value
        }
        guard let anchorText = environment[anchorKey], !anchorText.isEmpty else {
            return rate == 1
                ? ScheduleClock(startingAt: start) : ScheduleClock(startingAt: start, anchor: Date(), rate: rate)
        }
        guard let anchor = Timestamp.parse(anchorText) else {
            throw ScheduleClockError(
                message: "\(anchorKey)=\(anchorText) is not an ISO 8601 instant such as 2026-03-29T00:59:57.250Z")
        }
        return ScheduleClock(startingAt: start, anchor: anchor, rate: rate)
    }

    public func now() -> Date {
        read()
    }
}

public struct ScheduleClockError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
