import Foundation
import ProcessDefinitions
import Testing

/// The request parser (RFC 8259, strictly): what it accepts, and the message for what it refuses.
@Suite struct StrictJSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try StrictJSONParser.parse(
            #" {"s": "a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00", "i": -42, "d": 1.5e3, "z": -0, "t": true, "f": false, "n": null, "a": [1, [], {}]} "#
        )
        #expect(
            value
                == .object([
                    "s": .string("a\"\\/\u{8}\u{c}\n\r\té😀"), "i": .integer(-42), "d": .number(1500), "z": .integer(0),
                    "t": .bool(true), "f": .bool(false), "n": .null,
                    "a": .array([.integer(1), .array([]), .object([:])]),
                ]))
        #expect(try StrictJSONParser.parse("\"x\"") == .string("x"))
        #expect(try StrictJSONParser.parse("9223372036854775807") == .integer(.max))
        #expect(try StrictJSONParser.parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(try StrictJSONParser.parse("1e308") == .number(1e308))
        #expect(try StrictJSONParser.parse(Data("{\"k\": \"\u{00e9}\"}".utf8)) == .object(["k": .string("é")]))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var text: [UInt8]
        var code: JSONParseError.Code
        var says: [String]
        var testDescription: String { "\(code): \(says.joined(separator: " "))" }

        init(_ text: String, _ code: JSONParseError.Code, _ says: String...) {
            self.text = Array(text.utf8)
            self.code = code
            self.says = says
        }

        init(bytes: [UInt8], _ code: JSONParseError.Code, _ says: String...) {
            self.text = bytes
            self.code = code
            self.says = says
        }
    }

    static let refusals: [Refusal] = [
        Refusal(
            #"{"process_type": "echoer", "process_type": "nope"}"#, .duplicateKey,
            #"duplicate key "process_type" at the top level"#),
        Refusal(#"{"a": {"b": [1, {"c": 1, "c": 2}]}}"#, .duplicateKey, #"duplicate key "c" at a.b[1].c"#),
        Refusal(#"{"a b": {"x": 1, "x": 1}}"#, .duplicateKey, #"at ["a b"].x"#),
        Refusal("", .empty, "empty"),
        Refusal(" \n\t", .empty, "only whitespace"),
        Refusal(#"{"a": 1"#, .syntax, "never closed", "truncated"),
        Refusal(#"{"a": "b"#, .syntax, "never closed"),
        Refusal(#"{"a": 1} x"#, .syntax, "after the end of the JSON value"),
        Refusal(#"{"a": 01}"#, .syntax, "leading zeros"),
        Refusal(#"{"a": 1.}"#, .syntax, "decimal point"),
        Refusal(#"{"a": .5}"#, .syntax, "unexpected '.'"),
        Refusal(#"{"a": +1}"#, .syntax, "unexpected '+'"),
        Refusal(#"{"a": True}"#, .syntax, "unexpected 'T'"),
        Refusal(#"{"a": nul}"#, .syntax, "did you mean null"),
        Refusal(#"{a: 1}"#, .syntax, "object key"),
        Refusal(#"{"a": 1,}"#, .syntax, "object key"),
        Refusal(#"[1, 2,]"#, .syntax, "where a value should be"),
        Refusal(#"{"a": "\x"}"#, .syntax, "invalid escape"),
        Refusal(#"{"a": "\u12G4"}"#, .syntax, "four hex digits"),
        Refusal("{\"a\": \"tab\there\"}", .syntax, "control character U+0009"),
        Refusal("{\"a\": \"nul\u{0}here\"}", .syntax, "NUL byte inside a string"),
        Refusal(#"{"a": "\uD800"}"#, .loneSurrogate, #"\uD800 is a lone surrogate"#),
        Refusal(#"{"a": "\uD800\u0041"}"#, .loneSurrogate, "lone surrogate"),
        Refusal(#"{"a": "\uDC00x"}"#, .loneSurrogate, #"\uDC00 is a lone surrogate"#),
        Refusal(#"{"a": 1e999}"#, .numberOutOfRange, "1e999 is out of range"),
        Refusal(#"{"a": -1E+400}"#, .numberOutOfRange, "out of range"),
        Refusal(
            String(repeating: "[", count: 513) + String(repeating: "]", count: 513), .tooDeep,
            "nested more than 512 levels"),
        Refusal(bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8), .notUTF8, "UTF-8 byte order mark"),
        Refusal(
            bytes: [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00], .notUTF8, "UTF-16 (little-endian, with a byte order mark)",
            "iconv"),
        Refusal(bytes: [0xFE, 0xFF, 0x00, 0x7B, 0x00, 0x7D], .notUTF8, "UTF-16 (big-endian, with a byte order mark)"),
        Refusal(bytes: [0x7B, 0x00, 0x7D, 0x00], .notUTF8, "UTF-16 (little-endian)"),
        Refusal(bytes: [0x00, 0x7B, 0x00, 0x7D], .notUTF8, "UTF-16 (big-endian)"),
        Refusal(bytes: [0x7B, 0x00, 0x00, 0x00, 0x7D, 0x00, 0x00, 0x00], .notUTF8, "UTF-32 (little-endian)"),
        Refusal(
            bytes: Array(#"{"a": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), .notUTF8, "invalid UTF-8 (byte 0xC3)"),
        Refusal(
            bytes: Array(#"{"a": "\n"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8), .notUTF8, "not valid UTF-8"),
        Refusal(bytes: [0xC3, 0xA9], .syntax, "non-ASCII byte 0xC3"),
    ]

    @Test(arguments: refusals)
    func refuses(_ refusal: Refusal) {
        do {
            let value = try StrictJSONParser.parse(Data(refusal.text))
            Issue.record("accepted as \(value)")
        } catch {
            #expect(error.code == refusal.code, "\(error)")
            for words in refusal.says {
                #expect(error.description.contains(words), "\(error.description) does not say \(words)")
            }
        }
    }

    @Test func errorsGiveTheLineAndColumn() {
        #expect(throws: JSONParseError.self) { try StrictJSONParser.parse("{\n  \"a\": 1,\n  \"a\": 2\n}") }
        do {
            _ = try StrictJSONParser.parse("{\n  \"a\": 1,\n  \"a\": 2\n}")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 3)
            #expect(error.description.hasPrefix("line 3, column 3: duplicate key \"a\""))
        }
    }

    @Test func aMegabyteRequestParses() throws {
        let big =
            "{\"process_type\": \"x\", \"blob\": \"" + String(repeating: "abcdefgh", count: 128 * 1024)
            + "\", \"list\": [" + (0..<10_000).map(String.init).joined(separator: ",") + "]}"
        guard case .object(let fields) = try StrictJSONParser.parse(big) else {
            Issue.record("not an object")
            return
        }
        #expect(fields["blob"] == .string(String(repeating: "abcdefgh", count: 128 * 1024)))
        #expect(fields["list"].map { if case .array(let items) = $0 { items.count } else { 0 } } == 10_000)
    }
}
