/// Reads and writes the durations of definition files: `250ms`, `5s`, `2m`, `1h`, `1d`.
///
/// A duration is always a whole, non-negative number followed by its unit. A bare number is
/// refused on purpose: `timeout: 30` could mean seconds or minutes, and a definition that runs
/// for a day instead of half a minute is a costly misunderstanding.
public enum DurationParser {
    /// The units a duration may end with, longest suffix first so that `ms` is not read as `m`.
    static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ]

    /// What a valid duration looks like, for error messages.
    public static let expectedForm = "a whole number followed by a unit: ms, s, m, h or d (e.g. 250ms, 30s, 5m, 1h, 1d)"

    /// The duration `text` stands for, or nil when it is not a number followed by a known unit.
    public static func parse(_ text: String) -> Duration? {
        for unit in units where text.hasSuffix(unit.suffix) {
            let digits = text.dropLast(unit.suffix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let count = Int64(digits)
            else { return nil }
            let (milliseconds, overflow) = count.multipliedReportingOverflow(by: unit.milliseconds)
            guard !overflow else { return nil }
            return .milliseconds(milliseconds)
        }
        return nil
    }

    /// A short human form of `duration` for messages: the largest unit that divides it exactly
    /// (`2m`, `1h`), else seconds or milliseconds with a fraction (`1.5s`, `0.25ms`).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            if seconds == 0 { return "0s" }
            for (suffix, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where seconds % size == 0 {
                return "\(seconds / size)\(suffix)"
            }
        }
        let totalSeconds = duration.seconds
        if abs(totalSeconds) < 1 {
            return decimal(totalSeconds * 1_000) + "ms"
        }
        return decimal(totalSeconds) + "s"
    }

    /// `value` with at most three decimals and no trailing zeros.
    static func decimal(_ value: Double) -> String {
        let thousandths = (value * 1_000).rounded()
        let whole = Int64(thousandths / 1_000)
        var fraction = Int64(abs(thousandths.truncatingRemainder(dividingBy: 1_000)))
        guard fraction != 0 else { return String(whole) }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let padded = String(repeating: "0", count: digits - String(fraction).count) + String(fraction)
        let sign = value < 0 && whole == 0 ? "-" : ""
        return "\(sign)\(whole).\(padded)"
    }
}
