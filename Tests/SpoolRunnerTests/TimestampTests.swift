import Foundation
import Testing

@testable import SpoolClient
@testable import SpoolRunner

@Suite(.endToEnd) struct TimestampTests {
    @Test(arguments: [0.0, 1_784_559_600.004, 1_784_559_600.999, 951_782_400.5, 4_102_444_799.123])
    func ownStampsRoundTrip(seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = Timestamp.string(date)
        let parsed = try #require(Timestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - (seconds * 1000).rounded(.down) / 1000) < 0.0005, "\(text)")
        // The fast path agrees with the formatter path.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let reference = try #require(formatter.date(from: text))
        #expect(abs(parsed.timeIntervalSince(reference)) < 0.0005)
    }

    /// The hand-written digits of `Timestamp.string` are exactly what the printf format wrote.
    @Test(arguments: [0.0, 0.001, 59.999, 951_782_400.5, 1_784_559_600.004, 1_709_251_199.9, 253_402_300_799.999])
    func stringMatchesThePrintfFormat(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let millisecondsTotal = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var whole = time_t(millisecondsTotal / 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        let reference = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
            Int(millisecondsTotal % 1000))
        #expect(Timestamp.string(date) == reference)
    }

    /// Whole seconds and a date alone are parsed by hand (no ICU formatter on `history --since`);
    /// the result is the formatters' for every input, valid or not: what the hand path does not
    /// take (out-of-range fields, years before 1970, other forms) still goes to them.
    @Test(arguments: [
        "2026-07-20T15:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-29T12:30:45Z",
        "2026-07-20", "2024-02-29", "1970-01-01", "2000-02-29", "2026-12-31",
        "2023-02-29T00:00:00Z", "2023-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-07-00",
        "2026-07-20T24:00:00Z", "2026-07-20T23:60:00Z", "2026-07-20T23:59:60Z", "1969-12-31T23:59:59Z", "1969-12-31",
        "1582-10-10", "2026-07-20T15:00:00+02:00", "2026-07-20T15:00:00", "2026-07-2OT15:00:00Z", "2026-7-20",
        "20260720", "+2026-07-20", "2026-07-20T15:00Z",
    ])
    func wholeSecondsAndDaysParseAsTheFormattersDo(text: String) {
        func formatters(_ text: String) -> Date? {
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = fractional.date(from: text) { return date }
            let plain = ISO8601DateFormatter()
            plain.formatOptions = [.withInternetDateTime]
            if let date = plain.date(from: text) { return date }
            guard text.utf8.count == 10 else { return nil }
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            return day.date(from: text)
        }
        #expect(Timestamp.parse(text) == formatters(text), "\(text)")
    }

    @Test func handPathTakesOnlyValidWholeSecondsAndDays() {
        #expect(Timestamp.parseWholeSecondsOrDay("2026-07-20T15:00:00Z") == Date(timeIntervalSince1970: 1_784_559_600))
        #expect(Timestamp.parseWholeSecondsOrDay("2026-07-20") == Date(timeIntervalSince1970: 1_784_505_600))
        #expect(Timestamp.parseWholeSecondsOrDay("2024-02-29") == Date(timeIntervalSince1970: 1_709_164_800))
        for text in ["2023-02-29", "2026-04-31", "2026-07-20T24:00:00Z", "1969-12-31", "2026-07-20T15:00:00.000Z"] {
            #expect(Timestamp.parseWholeSecondsOrDay(text) == nil, "\(text)")
        }
    }

    @Test func otherFormsStillParse() {
        // 2026-07-20T15:00:00Z is 1,784,559,600 s after the epoch; the date alone is its midnight UTC.
        #expect(Timestamp.parse("2026-07-20T15:00:00Z") == Date(timeIntervalSince1970: 1_784_559_600))
        #expect(Timestamp.parse("2026-07-20T15:00:00.250Z") == Date(timeIntervalSince1970: 1_784_559_600.25))
        #expect(Timestamp.parse("2026-07-20") == Date(timeIntervalSince1970: 1_784_505_600))
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2026-07-20T15:00:00.123") == nil, "no zone: not a UTC stamp")
    }
}
