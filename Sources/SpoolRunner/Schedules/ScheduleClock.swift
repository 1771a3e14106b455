import Foundation

/// The wall clock schedules are computed with: the real one, or, for tests, one that starts at
/// a chosen instant and then runs at the real pace or faster (`SPOOLRUNNER_SCHEDULE_CLOCK`,
/// `SPOOLRUNNER_SCHEDULE_CLOCK_RATE`, `SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR`).
///
/// Tests use it to put a real runner a few seconds before a slot, across a DST change, or three
/// hours after the last run, without waiting for real minutes; a fleet test runs `* * * * *` at
/// 60× (a slot per real second) on three runners that agree on the time, since they share the
/// anchor. Only schedules read it: request timestamps, timeouts and backoffs keep the real clock.
public struct ScheduleClock: Sendable {
    /// What the clock read when the real clock read `anchor`.
    let start: Date
    let anchor: Date
    /// Clock seconds per real second.
    let rate: Double

    public static let real = ScheduleClock(offset: 0)

    /// The environment variable that sets a test clock: an ISO 8601 instant such as
    /// `2026-03-29T00:59:57Z`, the time the clock reads when the runner starts (or at the anchor).
    public static let environmentKey = "SPOOLRUNNER_SCHEDULE_CLOCK"
    /// How many clock seconds pass per real second (a positive number, default 1).
    public static let rateKey = "SPOOLRUNNER_SCHEDULE_CLOCK_RATE"
    /// The real instant (ISO 8601) at which the clock reads `SPOOLRUNNER_SCHEDULE_CLOCK`, so that
    /// runners started at different times agree; default: when the runner starts.
    public static let anchorKey = "SPOOLRUNNER_SCHEDULE_CLOCK_ANCHOR"

    /// A clock that reads `start` at the real instant `anchor` (default now), and runs on from
    /// there `rate` times as fast as the real one.
    public init(startingAt start: Date, anchor: Date = Date(), rate: Double = 1) {
        self.start = start
        self.anchor = anchor
        self.rate = rate
    }

    init(offset: TimeInterval) {
        let now = Date()
        self.init(startingAt: now.addingTimeInterval(offset), anchor: now)
    }

    /// The clock the environment asks for: the real one unless `SPOOLRUNNER_SCHEDULE_CLOCK` is
    /// set. - Throws: a message naming the variable when a value is not an instant or a rate.
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
        var anchor = Date()
        if let text = environment[anchorKey], !text.isEmpty {
            guard let value = Timestamp.parse(text) else {
                throw ScheduleClockError(
                    message: "\(anchorKey)=\(text) is not an ISO 8601 instant such as 2026-03-29T00:59:57.250Z")
            }
            anchor = value
        }
        return ScheduleClock(startingAt: start, anchor: anchor, rate: rate)
    }

    public func now() -> Date {
        start.addingTimeInterval(Date().timeIntervalSince(anchor) * rate)
    }

    /// The real time to wait for `interval` seconds of this clock to pass.
    public func realInterval(_ interval: TimeInterval) -> TimeInterval {
        interval / rate
    }
}

public struct ScheduleClockError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
