import Foundation
import Testing

@testable import SpoolRunner

@Suite struct TimestampTests {
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

    @Test func otherFormsStillParse() {
        #expect(Timestamp.parse("2026-07-20T15:00:00Z") != nil)
        #expect(Timestamp.parse("2026-07-20") != nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }
}
