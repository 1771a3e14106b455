import Foundation
import GRDB
import ProcessDefinitions
import SpoolClient

/// The text of a JSON column, exactly as GRDB's record encoder writes it (a `JSONEncoder` with
/// sorted keys, slashes escaped), so rows written by the commit's statements equal rows written
/// by the records.
///
/// The hot columns hold small flat objects (`{"attempt":1}`, `{"file":"p1.json"}`,
/// `{"user_id":"u1"}`): those are written directly, without an encoder; anything else (a
/// double, a string needing an escape, several keys, a `FailureInfo`) goes through the one
/// encoder, made once per commit. `JSONColumnTests` checks the direct path against the encoder.
struct JSONColumn {
    private var encoder: JSONEncoder?

    mutating func text(_ object: [String: JSONValue]?) throws -> String? {
        guard let object else { return nil }
        if let direct = Self.direct(object) { return direct }
        return try encoded(object)
    }

    mutating func text(_ failure: FailureInfo?) throws -> String? {
        guard let failure else { return nil }
        return try encoded(failure)
    }

    private mutating func encoded<T: Encodable>(_ value: T) throws -> String {
        if encoder == nil { encoder = ProcessRecord.databaseJSONEncoder(for: "inputs_json") }
        return String(decoding: try encoder!.encode(value), as: UTF8.self)
    }

    /// The object's text when it has at most one key and only integers, booleans, null and
    /// plain strings (no character JSON escapes); nil otherwise.
    static func direct(_ object: [String: JSONValue]) -> String? {
        guard object.count <= 1 else { return nil }
        guard let (key, value) = object.first else { return "{}" }
        guard isPlain(key) else { return nil }
        let scalar: String
        switch value {
        case .integer(let number): scalar = String(number)
        case .bool(let flag): scalar = flag ? "true" : "false"
        case .null: scalar = "null"
        case .string(let text):
            guard isPlain(text) else { return nil }
            scalar = "\"" + text + "\""
        case .number, .array, .object: return nil
        }
        return "{\"" + key + "\":" + scalar + "}"
    }

    /// Printable ASCII that JSON writes as is: no quote, backslash or slash (escaped as `\/`).
    private static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in byte >= 0x20 && byte < 0x7F && byte != 0x22 && byte != 0x5C && byte != 0x2F }
    }
}
