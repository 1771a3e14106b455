/// A UTC calendar time to the minute, computed with plain arithmetic.
///
/// Cron matching needs the year, month, day, weekday, hour and minute of many candidate times;
/// doing it with integer formulas (Howard Hinnant's civil-date algorithms) avoids `Calendar`,
/// its time zones and its cost, and is exact for every proleptic Gregorian date.
struct UTCDateTime: Sendable, Hashable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    /// The time `epochMinute` minutes after 1970-01-01 00:00 UTC.
    init(epochMinute: Int64) {
        let days = Self.floorDivide(epochMinute, 1_440)
        let minuteOfDay = Int(epochMinute - days * 1_440)
        (year, month, day) = Self.civil(fromDays: days)
        hour = minuteOfDay / 60
        minute = minuteOfDay % 60
    }

    init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    var daysSinceEpoch: Int64 { Self.days(fromYear: year, month: month, day: day) }

    var epochMinute: Int64 { daysSinceEpoch * 1_440 + Int64(hour * 60 + minute) }

    /// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
    var weekday: Int { Int(Self.floorModulo(daysSinceEpoch + 4, 7)) }

    func adding(minutes: Int64) -> UTCDateTime { UTCDateTime(epochMinute: epochMinute + minutes) }

    func startOfNextHour() -> UTCDateTime { adding(minutes: Int64(60 - minute)) }

    func startOfNextDay() -> UTCDateTime {
        UTCDateTime(epochMinute: (daysSinceEpoch + 1) * 1_440)
    }

    func startOfNextMonth() -> UTCDateTime {
        month == 12 ? UTCDateTime(year: year + 1, month: 1, day: 1) : UTCDateTime(year: year, month: month + 1, day: 1)
    }

    static func days(fromYear year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let monthFromMarch = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 { a - floorDivide(a, b) * b }
}
