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
        #expect(Timestamp.parse(text) == Self.formatterParse(text), "\(text)")
    }

    @Test func handPathTakesOnlyValidStamps() {
        #expect(Timestamp.parseTyped("2026-07-20T15:00:00Z") == Date(timeIntervalSince1970: 1_784_559_600))
        #expect(Timestamp.parseTyped("2026-07-20") == Date(timeIntervalSince1970: 1_784_505_600))
        #expect(Timestamp.parseTyped("2024-02-29") == Date(timeIntervalSince1970: 1_709_164_800))
        for text in [
            "2023-02-29", "2026-04-31", "2026-07-20T24:00:00Z", "1599-12-31", "2026-07-20T15:00:00.1234567890Z",
        ] {
            #expect(Timestamp.parseTyped(text) == nil, "\(text)")
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

    /// What `parse` answered before the typed forms were parsed by hand: the formatters alone.
    static func formatterParse(_ text: String) -> Date? {
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

    /// The forms `--since`/`--until` take are parsed by hand, to the same instant as the formatters.
    @Test(arguments: [
        "2026-07-20", "2024-02-29", "2000-02-29", "1600-01-01", "9999-12-31", "1969-12-31",
        "2026-07-20T15:00:00Z", "2026-07-20T15:00:00.1Z", "2026-07-20T15:00:00.12Z", "2026-07-20T15:00:00.1239Z",
        "2026-07-20T15:00:00.123456789Z", "2026-07-20T15:00:00+02:00", "2026-07-20T15:00:00-05:30",
        "2026-07-20T15:00:00+0530", "2026-07-20T15:00:00-12", "2026-07-20T15:00:00.5+14:00",
        "2026-07-20T15:00:00-00:00", "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999+23:59",
    ])
    func typedFormsParseByHand(text: String) throws {
        let byHand = try #require(Timestamp.parseTyped(text), "not parsed by hand: \(text)")
        #expect(byHand == Self.formatterParse(text), "\(text)")
        #expect(Timestamp.parse(text) == byHand)
    }

    /// Odd or wrong texts are left to the formatters: the same date, or the same nil.
    @Test(arguments: [
        "2026-02-30", "2026-02-30T10:00:00Z", "1500-01-01", "2026-07-20T15:00:00.1234567890Z",
        "2026-07-20t15:00:00z", "2026-07-20T15:00:00GMT", "2026-07-20T15:00:00Z ", "02026-07-20T15:00:00Z",
        "2026-07-20T15:00:00+24:00", "2026-07-20T15:00:00+2:00", "2026-07-20T24:00:00Z", "2026-07-20T23:59:60Z",
        "2026-13-01", "2026-7-20", "2026-07-20T15:00Z", "2026-07-20T15:00:00", "2026-07-20T15:00:00.Z",
        "2026-07-20T15:00:00,5Z", "2026-07-20 15:00:00Z", " 2026-07-20", "yesterday", "", "2026-07-20T15:00:00+02:0",
    ])
    func otherTextsMeanWhatTheyMeant(text: String) {
        #expect(Timestamp.parseTyped(text) == nil, "\(text)")
        #expect(Timestamp.parse(text) == Self.formatterParse(text), "\(text)")
    }

    /// 3,000 generated stamps (years 1600-9999, 0-9 digits of fraction, every kind of zone):
    /// the hand parser takes each one, to the formatters' instant.
    @Test func generatedStampsAgreeWithTheFormatters() {
        var seed: UInt64 = 0x5EED_1234
        func next(_ range: ClosedRange<Int>) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return range.lowerBound + Int((seed >> 33) % UInt64(range.count))
        }
        var disagreements: [String] = []
        for _ in 0..<3000 {
            let year = next(1600...9999)
            let month = next(1...12)
            let day = next(1...Timestamp.days(in: month, of: year))
            var text = String(format: "%04d-%02d-%02d", year, month, day)
            if next(0...4) > 0 {
                text += String(format: "T%02d:%02d:%02d", next(0...23), next(0...59), next(0...59))
                let digits = next(0...9)
                if digits > 0 { text += "." + (0..<digits).map { _ in String(next(0...9)) }.joined() }
                let sign = next(0...1) == 0 ? "+" : "-"
                switch next(0...3) {
                case 0: text += "Z"
                case 1: text += String(format: "%@%02d:%02d", sign, next(0...23), next(0...59))
                case 2: text += String(format: "%@%02d%02d", sign, next(0...23), next(0...59))
                default: text += String(format: "%@%02d", sign, next(0...23))
                }
            }
            let byHand = Timestamp.parseTyped(text)
            if byHand == nil || byHand != Self.formatterParse(text) { disagreements.append(text) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}
