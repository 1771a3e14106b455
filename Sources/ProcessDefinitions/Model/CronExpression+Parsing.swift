import Foundation

extension CronExpression {
    /// The macros cron users know, and the 5-field expression each stands for.
    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    static let syntaxHelp = "combine values with * (every), a,b (list), a-b (range), */n and a-b/n (steps)"

    /// One of the five fields: its name in messages, its bounds and its optional names.
    struct Field {
        var name: String
        var bounds: ClosedRange<Int>
        /// Names for the values from `bounds.lowerBound` on (`JAN` = 1, `SUN` = 0).
        var names: [String] = []
        var valid: String
    }

    static let fields: [Field] = [
        Field(name: "minute", bounds: 0...59, valid: "0-59"),
        Field(name: "hour", bounds: 0...23, valid: "0-23"),
        Field(name: "day-of-month", bounds: 1...31, valid: "1-31"),
        Field(
            name: "month", bounds: 1...12,
            names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
            valid: "1-12 or JAN-DEC"),
        Field(
            name: "day-of-week", bounds: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            valid: "0-7 (0 and 7 are Sunday) or SUN-SAT"),
    ]

    /// Reads a 5-field expression (`minute hour day-of-month month day-of-week`) or a macro.
    /// - Throws: `CronParseError` naming the field that is wrong and what it accepts.
    public init(parsing text: String) throws(CronParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var expanded = trimmed
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                let known = Self.macros.keys.sorted().joined(separator: ", ")
                throw CronParseError(message: "unknown cron macro '\(trimmed)'; valid macros: \(known)")
            }
            expanded = macro
        }
        let parts = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw CronParseError(
                message: "a cron expression has 5 fields (minute hour day-of-month month day-of-week) "
                    + "or is a macro such as @daily; '\(trimmed)' has \(parts.count) field\(parts.count == 1 ? "" : "s")"
            )
        }
        var sets: [UInt64] = []
        for (part, field) in zip(parts, Self.fields) {
            sets.append(try Self.parse(part, as: field))
        }
        // Sunday may be written 7: fold it onto 0.
        var daysOfWeek = sets[4]
        if daysOfWeek & (1 << 7) != 0 { daysOfWeek = (daysOfWeek & ~(1 << 7)) | 1 }
        self.source = text
        self.minutes = sets[0]
        self.hours = sets[1]
        self.daysOfMonth = sets[2]
        self.months = sets[3]
        self.daysOfWeek = daysOfWeek
        self.dayOfMonthIsWildcard = parts[2].hasPrefix("*")
        self.dayOfWeekIsWildcard = parts[4].hasPrefix("*")
    }

    /// The bit set of the values one field lists.
    static func parse(_ text: String, as field: Field) throws(CronParseError) -> UInt64 {
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            set |= try parseItem(String(item), whole: text, as: field)
        }
        return set
    }

    /// One list item: `*`, `a`, `a-b`, each optionally followed by `/step`.
    static func parseItem(_ item: String, whole: String, as field: Field) throws(CronParseError) -> UInt64 {
        func failure(_ problem: String) -> CronParseError {
            CronParseError(
                message: "\(field.name) field '\(whole)': \(problem); valid: \(field.valid), \(syntaxHelp)")
        }
        guard !item.isEmpty else { throw failure("empty list item") }
        let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { throw failure("'\(item)' has more than one '/'") }
        var step = 1
        if pieces.count == 2 {
            guard let value = Int(pieces[1]), value >= 1 else {
                throw failure("step '\(pieces[1])' is not a whole number of at least 1")
            }
            step = value
        }
        let base = String(pieces[0])
        var range: ClosedRange<Int>
        if base == "*" {
            range = field.bounds
        } else if let dash = base.firstIndex(of: "-") {
            let low = try value(String(base[..<dash]), in: field, failure: failure)
            let high = try value(String(base[base.index(after: dash)...]), in: field, failure: failure)
            guard low <= high else { throw failure("range \(base) runs backwards; write the smaller value first") }
            range = low...high
        } else {
            let low = try value(base, in: field, failure: failure)
            // `a/n` is the common shorthand for `a-max/n`.
            range = pieces.count == 2 ? low...field.bounds.upperBound : low...low
        }
        var set: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
            set |= 1 << UInt64(value)
        }
        return set
    }

    /// A single value: a number within the field's bounds, or one of its names.
    static func value(
        _ text: String, in field: Field, failure: (String) -> CronParseError
    ) throws(CronParseError) -> Int {
        if let number = Int(text), text.allSatisfy(\.isASCII) {
            guard field.bounds.contains(number) else {
                throw failure("\(number) is out of range \(field.bounds.lowerBound)-\(field.bounds.upperBound)")
            }
            return number
        }
        if let index = field.names.firstIndex(of: text.uppercased()) {
            return field.bounds.lowerBound + index
        }
        throw failure("'\(text)' is not a \(field.name == "day-of-week" ? "day" : field.name) value")
    }
}
