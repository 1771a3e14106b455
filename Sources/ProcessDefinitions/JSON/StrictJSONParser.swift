import Foundation

/// An RFC 8259 JSON parser that refuses what other parsers quietly resolve.
///
/// Requests are read by the runner and, often, by a front-end in another language first. Where
/// parsers disagree (which of two equal keys wins, what a lone surrogate becomes, whether UTF-16
/// or a BOM is allowed, what `1e999` is) a request could mean one thing to the front-end and
/// another to the runner. So this parser takes the strict reading of each: UTF-8 only, no BOM,
/// no duplicate key at any depth, surrogates only in pairs, numbers that fit a Double, and
/// nesting bounded by `maxDepth`. `JSONSerialization` and `JSONDecoder` cannot see duplicate
/// keys, hence this parser. It works on the bytes in one pass.
public struct StrictJSONParser {
    /// Deepest nesting of arrays and objects accepted (bounds the recursion).
    public static let maxDepth = 512

    /// Parses one JSON text.
    /// - Throws: `JSONParseError` with the code and position of the first problem.
    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            var parser = StrictJSONParser(bytes: raw.bindMemory(to: UInt8.self))
            do throws(JSONParseError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON text given as a string (always UTF-8 inside).
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Data(text.utf8))
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Where the parser is, for the message of a duplicate key: keys and array indexes.
    private var path: [PathComponent] = []

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: - Document

    private mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        try checkEncoding()
        skipWhitespace()
        guard index < bytes.count else {
            throw failure(.empty, bytes.isEmpty ? "the file is empty" : "the file holds only whitespace", at: 0)
        }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw failure(
                .syntax,
                "unexpected \(describeByte(at: index)) after the end of the JSON value; a request is one JSON object",
                at: index)
        }
        return value
    }

    /// UTF-16 and UTF-32 (with or without BOM) and a UTF-8 BOM are told apart from plain
    /// garbage, so the message can say what to convert.
    private func checkEncoding() throws(JSONParseError) {
        let count = bytes.count
        func at(_ i: Int) -> UInt8? { i < count ? bytes[i] : nil }
        let convert =
            "requests must be UTF-8 without a byte order mark (RFC 8259); convert it, e.g. iconv -f UTF-16 -t UTF-8"
        if at(0) == 0xEF, at(1) == 0xBB, at(2) == 0xBF {
            throw failure(
                .notUTF8,
                "the file starts with a UTF-8 byte order mark (EF BB BF); requests must be UTF-8 without a byte order mark (RFC 8259): remove it",
                at: 0)
        }
        if at(0) == 0x00, at(1) == 0x00, at(2) == 0xFE, at(3) == 0xFF {
            throw failure(.notUTF8, "the file is UTF-32 (big-endian, with a byte order mark); \(convert)", at: 0)
        }
        if at(0) == 0xFF, at(1) == 0xFE, at(2) == 0x00, at(3) == 0x00 {
            throw failure(.notUTF8, "the file is UTF-32 (little-endian, with a byte order mark); \(convert)", at: 0)
        }
        if at(0) == 0xFE, at(1) == 0xFF {
            throw failure(.notUTF8, "the file is UTF-16 (big-endian, with a byte order mark); \(convert)", at: 0)
        }
        if at(0) == 0xFF, at(1) == 0xFE {
            throw failure(.notUTF8, "the file is UTF-16 (little-endian, with a byte order mark); \(convert)", at: 0)
        }
        // Without a BOM: JSON starts with an ASCII character, so its zero bytes give it away.
        if count >= 4, at(0) == 0, at(1) == 0, at(2) == 0, at(3) != 0 {
            throw failure(.notUTF8, "the file is UTF-32 (big-endian); \(convert)", at: 0)
        }
        if count >= 4, at(0) != 0, at(1) == 0, at(2) == 0, at(3) == 0 {
            throw failure(.notUTF8, "the file is UTF-32 (little-endian); \(convert)", at: 0)
        }
        if count >= 2, at(0) == 0, at(1) != 0 {
            throw failure(.notUTF8, "the file is UTF-16 (big-endian); \(convert)", at: 0)
        }
        if count >= 2, at(0) != 0, at(0)! < 0x80, at(1) == 0 {
            throw failure(.notUTF8, "the file is UTF-16 (little-endian); \(convert)", at: 0)
        }
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else {
            throw failure(.syntax, "the JSON text ends where a value should be (the file is truncated)", at: index)
        }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw failure(
                .syntax,
                "unexpected \(describeByte(at: index)) where a value should be (a string, number, object, array, true, false or null)",
                at: index)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let start = index
        let length = word.utf8CodeUnitCount
        let matches =
            bytes.count - index >= length
            && word.withUTF8Buffer { expected in
                (0..<length).allSatisfy { bytes[index + $0] == expected[$0] }
            }
        guard matches else {
            throw failure(
                .syntax,
                "unexpected \(describeByte(at: start)); did you mean \(word)? (JSON literals are lower-case true, false and null)",
                at: start)
        }
        index += length
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth {
            throw failure(.tooDeep, "arrays and objects are nested more than \(Self.maxDepth) levels deep", at: index)
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        let open = index
        index += 1
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw truncated(opened: open, what: "object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw failure(
                    .syntax,
                    "unexpected \(describeByte(at: index)) where an object key (a string in double quotes) should be",
                    at: index)
            }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw truncated(opened: open, what: "object") }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw failure(
                    .syntax, "expected ':' after the key \(Self.quoted(key)), found \(describeByte(at: index))",
                    at: index)
            }
            index += 1
            skipWhitespace()
            path.append(.key(key))
            let value = try parseValue()
            path.removeLast()
            if object.updateValue(value, forKey: key) != nil {
                throw failure(
                    .duplicateKey,
                    "duplicate key \(Self.quoted(key)) \(pathDescription(key)); parsers disagree on which value wins, so the runner takes neither: keep one",
                    at: keyOffset)
            }
            skipWhitespace()
            guard index < bytes.count else { throw truncated(opened: open, what: "object") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(object)
            default:
                throw failure(
                    .syntax,
                    "expected ',' or '}' after the value of \(Self.quoted(key)), found \(describeByte(at: index))",
                    at: index)
            }
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        let open = index
        index += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            path.append(.index(array.count))
            array.append(try parseValue())
            path.removeLast()
            skipWhitespace()
            guard index < bytes.count else { throw truncated(opened: open, what: "array") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(array)
            default:
                throw failure(.syntax, "expected ',' or ']' in the array, found \(describeByte(at: index))", at: index)
            }
        }
    }

    // MARK: - Strings

    /// A string starting at the opening quote. Unescaped runs are copied as they are and the
    /// whole is checked as UTF-8 once, so a string without escapes costs one scan.
    private mutating func parseString() throws(JSONParseError) -> String {
        let open = index
        index += 1
        var runStart = index
        var scratch: [UInt8] = []
        var escaped = false
        while true {
            guard index < bytes.count else {
                throw failure(
                    .syntax,
                    "a string opened at line \(position(open).line), column \(position(open).column) is never closed (the file is truncated, or a quote is missing)",
                    at: open)
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
                index += 1
                if !escaped {
                    guard let text = String(validating: run, as: UTF8.self) else {
                        throw invalidUTF8(in: run, base: runStart)
                    }
                    return text
                }
                scratch.append(contentsOf: run)
                guard let text = String(validating: scratch, as: UTF8.self) else {
                    throw failure(
                        .notUTF8,
                        "the string starting at line \(position(open).line), column \(position(open).column) is not valid UTF-8; requests must be UTF-8",
                        at: open)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try parseEscape(into: &scratch)
                runStart = index
                continue
            }
            if byte < 0x20 {
                let name = byte == 0 ? "a NUL byte" : "the control character U+\(Self.hex(UInt32(byte), width: 4))"
                throw failure(
                    .syntax, "\(name) inside a string; control characters must be escaped (\\n, \\t, \\u0000, ...)",
                    at: index)
            }
            index += 1
        }
    }

    /// One escape starting at the backslash; appends its UTF-8 to `scratch`.
    private mutating func parseEscape(into scratch: inout [UInt8]) throws(JSONParseError) {
        let start = index
        index += 1
        guard index < bytes.count else { throw failure(.syntax, "the file ends inside an escape sequence", at: start) }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit(escapeAt: start)
            var scalar: UInt32 = unit
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed at once by an escaped low one.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else {
                    throw loneSurrogate(unit, at: start)
                }
                let second = index
                index += 2
                let low = try hexUnit(escapeAt: second)
                guard (0xDC00...0xDFFF).contains(low) else { throw loneSurrogate(unit, at: start) }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw loneSurrogate(unit, at: start)
            }
            scratch.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            index -= 1
            throw failure(
                .syntax,
                "invalid escape \\\(describeByte(at: index)) in a string; valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                at: start)
        }
    }

    /// The four hex digits after `\u` (index is just past the `u`).
    private mutating func hexUnit(escapeAt start: Int) throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else {
            throw failure(.syntax, "\\u must be followed by four hex digits", at: start)
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default:
                throw failure(
                    .syntax, "\\u must be followed by four hex digits, found \(describeByte(at: index))", at: start)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    // MARK: - Numbers

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`: an integer when it has neither
    /// fraction nor exponent and fits 64 bits, else a Double, which must be finite.
    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw failure(.syntax, "a '-' must be followed by digits", at: start)
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw failure(.syntax, "numbers may not have leading zeros (\(numberText(start)))", at: start)
            }
        } else {
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(.syntax, "a decimal point must be followed by digits (\(numberText(start)))", at: start)
            }
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(.syntax, "an exponent must have digits (\(numberText(start)))", at: start)
            }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            throw failure(
                .numberOutOfRange,
                "the number \(Self.shorten(text)) is out of range: numbers must fit a 64-bit float (at most about 1.8e308 in size); send a very large value as a string",
                at: start)
        }
        return .number(value)
    }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private func numberText(_ start: Int) -> String {
        var end = index
        while end < bytes.count, end - start < 40, !isDelimiter(bytes[end]) { end += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private func isDelimiter(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")
    }

    // MARK: - Whitespace, positions, messages

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func position(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }

    private func failure(_ code: JSONParseError.Code, _ message: String, at offset: Int) -> JSONParseError {
        let (line, column) = position(offset)
        return JSONParseError(code: code, message: message, offset: offset, line: line, column: column)
    }

    private func truncated(opened offset: Int, what: String) -> JSONParseError {
        let (line, column) = position(offset)
        return failure(
            .syntax, "the \(what) opened at line \(line), column \(column) is never closed (the file is truncated)",
            at: bytes.count)
    }

    private func loneSurrogate(_ unit: UInt32, at offset: Int) -> JSONParseError {
        failure(
            .loneSurrogate,
            "\\u\(Self.hex(unit, width: 4)) is a lone surrogate (half of a UTF-16 pair), not a character; encode characters outside the Basic Multilingual Plane as a pair such as \\uD83D\\uDE00, or as UTF-8",
            at: offset)
    }

    private func invalidUTF8(in run: UnsafeBufferPointer<UInt8>, base: Int) -> JSONParseError {
        // Find the first byte that does not start a valid sequence, for the position.
        var offset = 0
        var iterator = run.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
            case .emptyInput:
                break loop
            case .error:
                offset = consumed
                break loop
            }
        }
        return failure(
            .notUTF8,
            "invalid UTF-8 (byte 0x\(Self.hex(UInt32(run[min(offset, run.count - 1)]), width: 2))) in a string; requests must be UTF-8",
            at: base + offset)
    }

    private func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "the end of the file" }
        let byte = bytes[offset]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte >= 0x80 { return "the non-ASCII byte 0x\(Self.hex(UInt32(byte), width: 2)) (outside a string)" }
        return byte == 0 ? "a NUL byte" : "the byte 0x\(Self.hex(UInt32(byte), width: 2))"
    }

    /// `at the top level`, or `at inputs.list[2].name` (the duplicate key's own path).
    private func pathDescription(_ key: String) -> String {
        guard !path.isEmpty else { return "at the top level" }
        var text = ""
        for component in path + [.key(key)] {
            switch component {
            case .key(let key):
                let plain =
                    !key.isEmpty
                    && key.utf8.allSatisfy {
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                            || $0 == 0x5F || $0 == 0x2D
                    }
                text += plain ? (text.isEmpty ? key : ".\(key)") : "[\(Self.quoted(key))]"
            case .index(let i):
                text += "[\(i)]"
            }
        }
        return "at \(text)"
    }

    static func quoted(_ key: String) -> String {
        var text = "\""
        for scalar in key.unicodeScalars.prefix(80) {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20: text += "\\u" + hex(scalar.value, width: 4)
            default: text.unicodeScalars.append(scalar)
            }
        }
        if key.unicodeScalars.count > 80 { text += "..." }
        return text + "\""
    }

    static func shorten(_ text: String) -> String {
        text.count > 40 ? text.prefix(37) + "..." : text
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
