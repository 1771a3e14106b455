import Foundation
import ProcessDefinitions
import Testing

@Suite("Cron expressions")
struct CronExpressionTests {
    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.date(from: text)!
    }

    @Test(arguments: [
        ("*/15 * * * *", "2024-01-01T00:07:30Z", "2024-01-01T00:15:00Z"),
        ("*/15 * * * *", "2024-01-01T00:45:00Z", "2024-01-01T01:00:00Z"),
        ("0 3 * * *", "2024-01-01T03:00:00Z", "2024-01-02T03:00:00Z"),
        ("0 3 * * *", "2024-01-01T02:59:59Z", "2024-01-01T03:00:00Z"),
        ("@hourly", "2024-05-05T10:59:59Z", "2024-05-05T11:00:00Z"),
        ("@daily", "2024-12-31T23:59:30Z", "2025-01-01T00:00:00Z"),
        ("@midnight", "2024-02-28T12:00:00Z", "2024-02-29T00:00:00Z"),
        ("@weekly", "2024-01-01T00:00:00Z", "2024-01-07T00:00:00Z"),
        ("@monthly", "2024-01-31T08:00:00Z", "2024-02-01T00:00:00Z"),
        ("@yearly", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("@annually", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("30 2 * * MON-FRI", "2024-01-06T00:00:00Z", "2024-01-08T02:30:00Z"),
        ("0 12 * * 7", "2024-01-01T00:00:00Z", "2024-01-07T12:00:00Z"),
        ("0 12 * * sun", "2024-01-01T00:00:00Z", "2024-01-07T12:00:00Z"),
        // Both day fields restricted: either may match (the 15th, or any Friday).
        ("0 0 15 * FRI", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"),
        ("0 0 15 * FRI", "2024-01-12T00:00:00Z", "2024-01-15T00:00:00Z"),
        // Day of week is `*`: only the day of month counts.
        ("0 0 15 * *", "2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z"),
        ("5-10/2 * * * *", "2024-01-01T00:06:00Z", "2024-01-01T00:07:00Z"),
        ("0 9-17/4 * * *", "2024-01-01T10:00:00Z", "2024-01-01T13:00:00Z"),
        ("0,30 * * * *", "2024-01-01T00:10:00Z", "2024-01-01T00:30:00Z"),
        ("0 0 1 jan,Jul *", "2024-02-01T00:00:00Z", "2024-07-01T00:00:00Z"),
        ("59 23 31 12 *", "2024-12-31T23:59:00Z", "2025-12-31T23:59:00Z"),
        ("0 0 31 * *", "2024-04-01T00:00:00Z", "2024-05-31T00:00:00Z"),
        ("*/20 * * * *", "1969-12-31T23:50:00Z", "1970-01-01T00:00:00Z"),
    ])
    func next(expression: String, after: String, expected: String) throws {
        let cron = try CronExpression(parsing: expression)
        #expect(cron.next(after: Self.date(after)) == Self.date(expected))
        #expect(cron.source == expression)
    }

    @Test func impossibleDatesNeverMatch() throws {
        #expect(try CronExpression(parsing: "0 0 30 2 *").next(after: Self.date("2024-01-01T00:00:00Z")) == nil)
        #expect(try CronExpression(parsing: "0 0 31 4,6,9,11 *").next(after: Self.date("2024-01-01T00:00:00Z")) == nil)
    }

    @Test func fractionalSecondsMoveToTheNextWholeMinute() throws {
        let cron = try CronExpression(parsing: "* * * * *")
        let start = Self.date("2024-01-01T00:00:00Z")
        #expect(cron.next(after: start.addingTimeInterval(0.25)) == start.addingTimeInterval(60))
        #expect(cron.next(after: start) == start.addingTimeInterval(60))
    }

    @Test func sundayIsZeroOrSeven() throws {
        let zero = try CronExpression(parsing: "0 0 * * 0")
        let seven = try CronExpression(parsing: "0 0 * * 7")
        var time = Self.date("2024-01-01T00:00:00Z")
        for _ in 0..<10 {
            let next = try #require(zero.next(after: time))
            #expect(seven.next(after: time) == next)
            time = next
        }
    }

    @Test func consecutiveRunsOfAStepExpression() throws {
        let cron = try CronExpression(parsing: "*/15 9-17 * * MON-FRI")
        var time = Self.date("2024-01-05T17:45:00Z")  // a Friday, after the last run of the day
        var runs: [Date] = []
        for _ in 0..<3 {
            time = try #require(cron.next(after: time))
            runs.append(time)
        }
        #expect(runs == ["2024-01-08T09:00:00Z", "2024-01-08T09:15:00Z", "2024-01-08T09:30:00Z"].map(Self.date))
    }

    @Test(arguments: [
        ("61 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day-of-month"),
        ("* * 32 * *", "day-of-month"),
        ("* * * 13 *", "month"),
        ("* * * FOO *", "month"),
        ("* * * * 8", "day-of-week"),
        ("* * * * MOM", "day-of-week"),
        ("*/0 * * * *", "minute"),
        ("5-1 * * * *", "minute"),
        ("1,,2 * * * *", "minute"),
        ("1/2/3 * * * *", "minute"),
        ("* * * *", "5 fields"),
        ("* * * * * *", "5 fields"),
        ("", "5 fields"),
        ("@reboot", "@daily"),
        ("@every 5m", "@hourly"),
    ])
    func invalidExpressionsNameTheField(expression: String, mentioned: String) {
        #expect {
            try CronExpression(parsing: expression)
        } throws: { error in
            guard let error = error as? CronParseError else { return false }
            return error.message.contains(mentioned)
        }
    }

    @Test func errorMessagesSayWhatIsValid() {
        #expect {
            try CronExpression(parsing: "* * * * MOM")
        } throws: { error in
            let message = (error as? CronParseError)?.message ?? ""
            return message.contains("SUN-SAT") && message.contains("0-7") && message.contains("*/n")
        }
    }
}
