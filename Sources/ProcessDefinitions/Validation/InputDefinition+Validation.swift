import Foundation

extension InputDefinition.Kind {
    /// `value` in the form this kind stores it, or nil when it is of another type.
    ///
    /// JSON does not tell `3` from `3.0`, so an integral float is an acceptable integer (and is
    /// stored as one), and any integer is an acceptable number.
    public func coerce(_ value: JSONValue) -> JSONValue? {
        switch (self, value) {
        case (.string, .string), (.boolean, .bool), (.object, .object), (.array, .array),
            (.integer, .integer), (.number, .number), (.number, .integer):
            return value
        case (.integer, .number(let double)):
            guard double.isFinite, double == double.rounded(), let integer = Int64(exactly: double) else { return nil }
            return .integer(integer)
        default:
            return nil
        }
    }

    var article: String { Self.article(for: rawValue) }

    /// `an` before `integer`, `object` and `array`, `a` before the others.
    static func article(for typeName: String) -> String {
        ["integer", "object", "array"].contains(typeName) ? "an" : "a"
    }
}

extension InputDefinition {
    /// The value to store for this input, or the one problem with it (type first, then enum,
    /// pattern, bounds and length), phrased for the user: the field, the rule, what was given.
    public func check(_ value: JSONValue) -> Result<JSONValue, InputValidationError> {
        guard let value = type.coerce(value) else {
            return failure("must be \(type.article) \(type.rawValue), got \(value.typeName) \(Self.shortJSON(value))")
        }
        if case .string(let text) = value, text.utf8.contains(0) {
            return .failure(InputValidationError(problems: [Self.nulProblem(name)]))
        }
        if let enumValues, !enumValues.contains(where: { Self.same($0, value) }) {
            let allowed = enumValues.map(\.compactJSON).joined(separator: ", ")
            return failure("must be one of \(allowed); got \(Self.shortJSON(value))")
        }
        if let pattern, case .string(let text) = value {
            switch PatternCache.shared.match(text, pattern: pattern) {
            case .matches:
                break
            case .doesNotMatch, .invalidPattern:
                return failure("does not match the pattern \(pattern); got \(Self.shortJSON(value))")
            case .tooMuchWork:
                return failure(
                    "could not be checked against the pattern \(pattern): matching this value took more than the matcher's work limit (the pattern backtracks too much, e.g. nested repetition like (.*a){20}); the definition's pattern needs simplifying"
                )
            }
        }
        if let number = value.doubleValue {
            if let min, number < min {
                return failure("is below the minimum \(JSONValue.number(min).compactJSON); got \(value.compactJSON)")
            }
            if let max, number > max {
                return failure("is above the maximum \(JSONValue.number(max).compactJSON); got \(value.compactJSON)")
            }
        }
        if let maxLength, case .string(let text) = value, text.count > maxLength {
            return failure("is longer than \(maxLength) characters (got \(text.count))")
        }
        return .success(value)
    }

    /// A string input reaches commands as an argument or a variable, and neither can hold a
    /// NUL byte: such a value would make every task of the process fail to start.
    static func nulProblem(_ name: String) -> String {
        "input '\(name)' contains a NUL character (\\u0000), which no command argument or environment variable can hold; remove it (send binary data base64-encoded)"
    }

    func failure(_ problem: String) -> Result<JSONValue, InputValidationError> {
        .failure(InputValidationError(problems: ["input '\(name)' \(problem)"]))
    }

    /// Equality where `1` and `1.0` are the same number, as they are in JSON.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    /// A value's JSON, cut short so that a huge input does not flood the rejection message.
    static func shortJSON(_ value: JSONValue) -> String {
        let text = value.compactJSON
        return text.count > 80 ? text.prefix(77) + "..." : text
    }
}
