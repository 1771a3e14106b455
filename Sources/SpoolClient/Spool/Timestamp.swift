import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// ISO 8601 UTC timestamps with milliseconds and `Z`, the one format of status files, SQLite and
/// logs. Fixed width, so that text order is time order in SQL.
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        let millisecondsTotal = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millisecondsTotal / 1000)
        let milliseconds = Int(millisecondsTotal % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Digits written by hand: this runs several times per task transition, and
        // `String(format:)` costs a formatter, boxed arguments and an NSString each time.
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year), milliseconds >= 0 else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
        }
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var rest = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(Int(parts.tm_mon) + 1, 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(Int(parts.tm_mday), 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(Int(parts.tm_hour), 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(Int(parts.tm_min), 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(Int(parts.tm_sec), 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(milliseconds, 3, at: 20)
            buffer[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    public static func now() -> String { string(Date()) }

    /// Parses `2026-07-20T15:00:00Z`, `2026-07-20T15:00:00.123Z` or a date alone `2026-07-20`.
    public static func parse(_ text: String) -> Date? {
        // The runner's own fixed-width stamps are read on every task end, and `--since`/`--until`
        // are mostly whole seconds or a date: parse those by hand. A formatter is ICU's, and its
        // first use costs a CLI command 2-3 ms of CPU (P6 in BENCHMARKS.md times them whole).
        if let date = parseOwn(text) ?? parseWholeSecondsOrDay(text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        // Only a date and nothing after it: the formatter would take the date out of a longer
        // text (a stamp without its zone) and make it midnight.
        guard text.utf8.count == 10 else { return nil }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD` (midnight UTC), with every field in its range and a
    /// year from 1970 to 9999; nil for anything else, which the formatters then decide on as they
    /// always did (ICU's calendar is Julian before 1582, and its rules for day 31 of a 30-day month
    /// or second 60 are its own), so the result never differs from theirs.
    static func parseWholeSecondsOrDay(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return nil }
        if bytes.count == 20 {
            guard bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A, bytes[19] == 0x5A else { return nil }
        }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 0x30
                guard digit >= 0 && digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1970...9999).contains(year), (1...12).contains(month)
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...monthDays).contains(day) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        if bytes.count == 20 {
            guard let h = number(11..<13), let m = number(14..<16), let s = number(17..<19), h <= 23, m <= 59, s <= 59
            else { return nil }
            (hour, minute, second) = (h, m, s)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&parts)))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly as `string(_:)` writes it; nil for anything else.
    static func parseOwn(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A,
            bytes[16] == 0x3A, bytes[19] == 0x2E, bytes[23] == 0x5A
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 0x30
                guard digit >= 0 && digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let millisecond = number(20..<23)
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millisecond) / 1000)
    }
}
