import Foundation

/// A 5-field cron expression (minute hour day-of-month month day-of-week) or a macro
/// (`@hourly`, `@daily`, ...), evaluated in UTC.
///
/// Schedules are in UTC so that a definition means the same on every machine and no run is
/// skipped or doubled at a daylight-saving change. The fields are kept as bit sets: matching a
/// minute is then a shift and a mask, and searching a year ahead stays cheap.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written.
    public var source: String
    /// Bit `n` set when minute `n` (0-59) matches.
    var minutes: UInt64
    /// Bit `n` set when hour `n` (0-23) matches.
    var hours: UInt64
    /// Bit `n` set when day of month `n` (1-31) matches.
    var daysOfMonth: UInt64
    /// Bit `n` set when month `n` (1-12) matches.
    var months: UInt64
    /// Bit `n` set when weekday `n` (0 = Sunday ... 6 = Saturday) matches.
    var daysOfWeek: UInt64
    /// Whether the day-of-month field starts with `*`. Cron's rule: when both day fields are
    /// restricted a day matches if either does; when one starts with `*`, both must match.
    var dayOfMonthIsWildcard: Bool
    var dayOfWeekIsWildcard: Bool

    public var description: String { source }

    /// How far ahead `next(after:)` looks before deciding the expression never matches
    /// (`0 0 30 2 *`). Eight years cover the longest gap between two 29ths of February.
    static let searchYears = 9

    /// The first time strictly after `date`, on a whole minute, that the expression matches;
    /// nil when it matches no day at all (like the 30th of February).
    public func next(after date: Date) -> Date? {
        let afterMinute = Int64((date.timeIntervalSince1970 / 60).rounded(.down)) + 1
        var time = UTCDateTime(epochMinute: afterMinute)
        let lastYear = time.year + Self.searchYears
        while time.year <= lastYear {
            if !Self.contains(months, time.month) {
                time = time.startOfNextMonth()
            } else if !dayMatches(time) {
                time = time.startOfNextDay()
            } else if !Self.contains(hours, time.hour) {
                time = time.startOfNextHour()
            } else if !Self.contains(minutes, time.minute) {
                time = time.adding(minutes: 1)
            } else {
                return Date(timeIntervalSince1970: TimeInterval(time.epochMinute * 60))
            }
        }
        return nil
    }

    func dayMatches(_ time: UTCDateTime) -> Bool {
        let dayOfMonth = Self.contains(daysOfMonth, time.day)
        let dayOfWeek = Self.contains(daysOfWeek, time.weekday)
        if dayOfMonthIsWildcard || dayOfWeekIsWildcard {
            return dayOfMonth && dayOfWeek
        }
        return dayOfMonth || dayOfWeek
    }

    static func contains(_ set: UInt64, _ value: Int) -> Bool {
        set & (1 << UInt64(value)) != 0
    }
}
