import Yams

extension DefinitionReader {
    /// A scalar's text. Numbers and booleans are accepted as written (`PORT: 8080` gives
    /// `"8080"`), since YAML users rarely quote them; null, lists and mappings are refused.
    mutating func string(_ node: Node, at path: String, what: String = "a string") -> String? {
        if case .scalar(let scalar) = node, YAMLValue.json(of: scalar) != .null {
            return scalar.string
        }
        report(.invalidValue, at: node, key: path, "expected \(what), got \(YAMLValue.describe(node))")
        return nil
    }

    mutating func bool(_ node: Node, at path: String) -> Bool? {
        if case .scalar(let scalar) = node, case .bool(let value) = YAMLValue.json(of: scalar) {
            return value
        }
        report(.invalidValue, at: node, key: path, "expected true or false, got \(YAMLValue.describe(node))")
        return nil
    }

    /// A whole number of at least `minimum`.
    mutating func integer(_ node: Node, at path: String, minimum: Int) -> Int? {
        if case .scalar(let scalar) = node, case .integer(let value) = YAMLValue.json(of: scalar) {
            guard value >= minimum, let result = Int(exactly: value) else {
                report(
                    .invalidValue, at: node, key: path, "expected a whole number of at least \(minimum), got \(value)")
                return nil
            }
            return result
        }
        report(
            .invalidValue, at: node, key: path,
            "expected a whole number of at least \(minimum), got \(YAMLValue.describe(node))")
        return nil
    }

    /// A number of either kind, as a `Double`.
    mutating func number(_ node: Node, at path: String) -> Double? {
        if case .scalar(let scalar) = node, let value = YAMLValue.json(of: scalar).doubleValue, value.isFinite {
            return value
        }
        report(.invalidValue, at: node, key: path, "expected a number, got \(YAMLValue.describe(node))")
        return nil
    }

    /// A duration written with its unit; `allowZero: false` for limits such as timeouts.
    mutating func duration(_ node: Node, at path: String, allowZero: Bool = true) -> Duration? {
        guard case .scalar(let scalar) = node else {
            report(
                .invalidDuration, at: node, key: path,
                "expected a duration, \(DurationParser.expectedForm); got \(YAMLValue.describe(node))")
            return nil
        }
        guard let duration = DurationParser.parse(scalar.string) else {
            let problem =
                if case .integer = YAMLValue.json(of: scalar) {
                    "'\(scalar.string)' has no unit"
                } else {
                    "'\(scalar.string)' is not a duration"
                }
            report(.invalidDuration, at: node, key: path, "\(problem); write \(DurationParser.expectedForm)")
            return nil
        }
        guard allowZero || duration > .zero else {
            report(
                .invalidDuration, at: node, key: path,
                "must be longer than zero, e.g. 30s; leave the key out for no limit")
            return nil
        }
        return duration
    }

    /// The elements of a list node.
    mutating func list(_ node: Node, at path: String, of what: String) -> [Node]? {
        if case .sequence(let sequence) = node {
            return Array(sequence)
        }
        report(.invalidValue, at: node, key: path, "expected a list of \(what), got \(YAMLValue.describe(node))")
        return nil
    }

    /// A string from a fixed set of choices.
    mutating func choice(_ node: Node, at path: String, among choices: [String]) -> String? {
        let valid = choices.joined(separator: " or ")
        if case .scalar(let scalar) = node, choices.contains(scalar.string) {
            return scalar.string
        }
        report(.invalidValue, at: node, key: path, "expected \(valid), got \(YAMLValue.describe(node))")
        return nil
    }
}
