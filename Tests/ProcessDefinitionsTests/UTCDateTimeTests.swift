import Foundation
import Testing

@testable import ProcessDefinitions

/// The civil-date arithmetic behind cron matching, checked against Foundation's calendar.
@Suite("UTC calendar arithmetic")
struct UTCDateTimeTests {
    @Test func agreesWithFoundationOverFourCenturies() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // From 1900 to 2300 in steps of a little over 3 days, to land on every weekday and month.
        let start: Int64 = -36_816_480
        for step in Int64(0)..<48_000 {
            let minute = start + step * 4_391
            let time = UTCDateTime(epochMinute: minute)
            let date = Date(timeIntervalSince1970: TimeInterval(minute * 60))
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
            guard time.year == parts.year, time.month == parts.month, time.day == parts.day,
                time.hour == parts.hour, time.minute == parts.minute, time.weekday == parts.weekday! - 1,
                time.epochMinute == minute
            else {
                Issue.record("\(time) differs from \(parts) at minute \(minute)")
                return
            }
        }
    }

    @Test func stepsAcrossMonthAndYearEnds() {
        let newYearsEve = UTCDateTime(year: 2024, month: 12, day: 31, hour: 23, minute: 59)
        #expect(newYearsEve.adding(minutes: 1) == UTCDateTime(year: 2025, month: 1, day: 1))
        #expect(newYearsEve.startOfNextMonth() == UTCDateTime(year: 2025, month: 1, day: 1))
        #expect(
            UTCDateTime(year: 2024, month: 2, day: 28).startOfNextDay() == UTCDateTime(year: 2024, month: 2, day: 29))
        #expect(
            UTCDateTime(year: 2023, month: 2, day: 28).startOfNextDay() == UTCDateTime(year: 2023, month: 3, day: 1))
        #expect(
            UTCDateTime(year: 2024, month: 1, day: 1, hour: 5, minute: 17).startOfNextHour()
                == UTCDateTime(year: 2024, month: 1, day: 1, hour: 6))
    }
}
