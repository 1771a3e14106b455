import Foundation
import Testing

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

    @Test func otherFormsStillParse() {
        // 2026-07-20T15:00:00Z is 1,784,559,600 s after the epoch; the date alone is its midnight UTC.
        #expect(Timestamp.parse("2026-07-20T15:00:00Z") == Date(timeIntervalSince1970: 1_784_559_600))
        #expect(Timestamp.parse("2026-07-20T15:00:00.250Z") == Date(timeIntervalSince1970: 1_784_559_600.25))
        #expect(Timestamp.parse("2026-07-20") == Date(timeIntervalSince1970: 1_784_505_600))
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2026-07-20T15:00:00.123") == nil, "no zone: not a UTC stamp")
    }
}
