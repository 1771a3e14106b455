import Foundation
import Yams

/// Turns YAML nodes into `JSONValue`s with the YAML 1.2 core schema's typing.
///
/// Yams' default resolver follows YAML 1.1, where `yes`, `no`, `on` and `off` are booleans and
/// `0777` is octal: a plan named `no` or a country code `NO` would silently become `false`. The
/// core schema keeps those strings. Quoted and block scalars are always strings, so a user can
/// always force a string by quoting it.
enum YAMLValue {
    static let stringTag = "tag:yaml.org,2002:str"
    static let intTag = "tag:yaml.org,2002:int"
    static let floatTag = "tag:yaml.org,2002:float"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let nullTag = "tag:yaml.org,2002:null"

    /// The JSON value of any node: mappings become objects (keys by their text), sequences arrays.
    static func json(of node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            return json(of: scalar)
        case .sequence(let sequence):
            return .array(sequence.map { json(of: $0) })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                object[key.scalar?.string ?? "\(key)"] = json(of: value)
            }
            return .object(object)
        case .alias:
            // The parser replaces aliases by the nodes they name; nothing reaches here.
            return .null
        }
    }

    /// The JSON value of a scalar: explicit tags win, then quoting, then the core schema.
    static func json(of scalar: Node.Scalar) -> JSONValue {
        let text = scalar.string
        switch scalar.tag.rawValue {
        case stringTag, "!":
            return .string(text)
        case intTag:
            return integer(text).map(JSONValue.integer) ?? .string(text)
        case floatTag:
            return float(text).map(JSONValue.number) ?? integer(text).map { .number(Double($0)) } ?? .string(text)
        case boolTag:
            return bool(text).map(JSONValue.bool) ?? .string(text)
        case nullTag:
            return .null
        case "":
            guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
            return plain(text)
        default:
            return .string(text)
        }
    }

    /// Core-schema resolution of an untagged plain scalar.
    static func plain(_ text: String) -> JSONValue {
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if let value = bool(text) { return .bool(value) }
        if let value = integer(text) { return .integer(value) }
        if let value = float(text) { return .number(value) }
        return .string(text)
    }

    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`, within `Int64`.
    static func integer(_ text: String) -> Int64? {
        if text.hasPrefix("0o") { return onlyDigits(text.dropFirst(2), radix: 8) }
        if text.hasPrefix("0x") { return onlyDigits(text.dropFirst(2), radix: 16) }
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard let magnitude = onlyDigits(digits, radix: 10) else {
            // Int64.min has no positive counterpart.
            return negative && digits == "9223372036854775808" ? Int64.min : nil
        }
        return negative ? -magnitude : magnitude
    }

    static func onlyDigits(_ digits: Substring, radix: Int) -> Int64? {
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return Int64(digits, radix: radix)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?.inf` or `.nan`.
    static func float(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        guard
            text.range(of: #"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"#, options: .regularExpression)
                != nil
        else { return nil }
        return Double(text)
    }

    /// A short description of a node for messages: `a mapping`, `a list`, `null`, `the integer 5`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            let value = json(of: scalar)
            if case .null = value { return "null (no value)" }
            return "the \(value.typeName) \(value.compactJSON)"
        }
    }
}
