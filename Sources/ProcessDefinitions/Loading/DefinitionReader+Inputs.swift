import Foundation
import Yams

extension DefinitionReader {
    static let inputKeys = ["type", "required", "default", "enum", "pattern", "min", "max", "max_length"]
    static let inputKinds = InputDefinition.Kind.allCases.map(\.rawValue)

    /// `inputs:`: the valid inputs, and the names of all of them (valid or not), so that a
    /// template naming a broken input is not reported a second time as undeclared.
    mutating func readInputs(_ node: Node) -> (inputs: [InputDefinition], names: Set<String>) {
        guard case .mapping(let mapping) = node else {
            report(
                .notAMapping, at: node, key: "inputs",
                "inputs must be a mapping of input names to their rules, e.g. user_id: {type: string, required: true}; got \(YAMLValue.describe(node))"
            )
            return ([], [])
        }
        var inputs: [InputDefinition] = []
        var names = Set<String>()
        for (key, value) in mapping {
            guard let name = string(key, at: "inputs", what: "an input name") else { continue }
            names.insert(name)
            let path = "inputs.\(name)"
            if !TemplateString.isIdentifier(name) {
                report(
                    .invalidValue, at: key, key: path,
                    "input name '\(name)' is not valid: use letters, digits and _, not starting with a digit (each input also becomes a $SPOOL_INPUT_<NAME> variable)"
                )
            } else if name == "process_type" {
                report(
                    .invalidValue, at: key, key: path,
                    "process_type is the request key naming the definition; it cannot also be an input")
            } else if let input = readInput(named: name, value, at: path) {
                inputs.append(input)
            }
        }
        return (inputs, names)
    }

    mutating func readInput(named name: String, _ node: Node, at path: String) -> InputDefinition? {
        guard let fields = fields(of: node, at: path, allowed: Self.inputKeys, what: "input '\(name)'") else {
            return nil
        }
        let errorsBefore = errors.count
        guard let typeNode = fields["type"] else {
            report(
                .missingField, at: node, key: path,
                "input '\(name)' needs a type: \(Self.inputKinds.joined(separator: ", "))")
            return nil
        }
        guard let typeName = choice(typeNode, at: "\(path).type", among: Self.inputKinds),
            let kind = InputDefinition.Kind(rawValue: typeName)
        else { return nil }
        var input = InputDefinition(name: name, type: kind)
        if let node = fields["required"], let value = bool(node, at: "\(path).required") { input.required = value }
        readStringRules(fields, kind: kind, at: path, into: &input)
        readNumberRules(fields, kind: kind, at: path, into: &input)
        if let node = fields["enum"] { input.enumValues = readEnum(node, kind: kind, at: "\(path).enum") }
        let rulesValid = errors.count == errorsBefore
        if let node = fields["default"] {
            input.defaultValue = readDefault(node, for: input, at: "\(path).default", checkRules: rulesValid)
        }
        return errors.count == errorsBefore ? input : nil
    }

    /// `pattern` and `max_length`, which only strings have.
    mutating func readStringRules(
        _ fields: Fields, kind: InputDefinition.Kind, at path: String, into input: inout InputDefinition
    ) {
        for key in ["pattern", "max_length"] where kind != .string && fields.has(key) {
            report(
                .invalidValue, at: fields.keyNode(key), key: "\(path).\(key)",
                "\(key) applies only to string inputs; this input is \(kind.article) \(kind.rawValue)")
        }
        guard kind == .string else { return }
        if let node = fields["pattern"], let pattern = string(node, at: "\(path).pattern", what: "a regular expression")
        {
            do {
                _ = try NSRegularExpression(pattern: pattern)
                input.pattern = pattern
            } catch {
                report(
                    .invalidPattern, at: node, key: "\(path).pattern",
                    "'\(pattern)' is not a valid regular expression (ICU syntax, as NSRegularExpression reads it); check brackets, parentheses and escapes"
                )
            }
        }
        if let node = fields["max_length"] {
            input.maxLength = integer(node, at: "\(path).max_length", minimum: 0)
        }
    }

    /// `min` and `max`, which only integers and numbers have.
    mutating func readNumberRules(
        _ fields: Fields, kind: InputDefinition.Kind, at path: String, into input: inout InputDefinition
    ) {
        let numeric = kind == .integer || kind == .number
        for key in ["min", "max"] where !numeric && fields.has(key) {
            report(
                .invalidValue, at: fields.keyNode(key), key: "\(path).\(key)",
                "\(key) applies only to integer and number inputs; this input is \(kind.article) \(kind.rawValue)")
        }
        guard numeric else { return }
        if let node = fields["min"] { input.min = number(node, at: "\(path).min") }
        if let node = fields["max"] { input.max = number(node, at: "\(path).max") }
        if let min = input.min, let max = input.max, min > max, let node = fields["max"] {
            report(
                .invalidValue, at: node, key: "\(path).max",
                "max (\(JSONValue.number(max).compactJSON)) is below min (\(JSONValue.number(min).compactJSON))")
        }
    }

    /// `enum: [...]`: a non-empty list of values of the input's type.
    mutating func readEnum(_ node: Node, kind: InputDefinition.Kind, at path: String) -> [JSONValue]? {
        guard let items = list(node, at: path, of: "allowed \(kind.rawValue) values") else { return nil }
        guard !items.isEmpty else {
            report(.invalidValue, at: node, key: path, "enum is empty; list the allowed values, or remove the key")
            return nil
        }
        var values: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let value = YAMLValue.json(of: item)
            guard let coerced = kind.coerce(value) else {
                report(
                    .typeMismatch, at: item, key: "\(path)[\(index)]",
                    "enum value \(value.compactJSON) is \(InputDefinition.Kind.article(for: value.typeName)) \(value.typeName), but the input is \(kind.article) \(kind.rawValue); quote it or change the input's type"
                )
                continue
            }
            values.append(coerced)
        }
        return values.count == items.count ? values : nil
    }

    /// `default:`: of the input's type, and itself valid (within its enum, pattern and bounds).
    mutating func readDefault(_ node: Node, for input: InputDefinition, at path: String, checkRules: Bool) -> JSONValue?
    {
        let value = YAMLValue.json(of: node)
        guard let coerced = input.type.coerce(value) else {
            let got = value == .null ? "null (no value)" : "\(value.typeName) \(value.compactJSON)"
            report(
                .typeMismatch, at: node, key: path,
                "the default must be \(input.type.article) \(input.type.rawValue) like the input, got \(got)")
            return nil
        }
        guard checkRules else { return coerced }
        switch input.check(coerced) {
        case .success(let checked):
            return checked
        case .failure(let error):
            report(.invalidValue, at: node, key: path, "the default would itself be refused: \(error.message)")
            return nil
        }
    }
}
