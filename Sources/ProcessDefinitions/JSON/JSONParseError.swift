/// Why a JSON text was refused by `StrictJSONParser`, and where.
///
/// The message names the problem in the user's terms (a duplicate key and its path, a lone
/// surrogate, a number out of range, a UTF-16 file) so that a rejection says what to fix.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Empty, or only whitespace.
        case empty
        /// UTF-16, UTF-32, a byte order mark, or bytes that are not UTF-8.
        case notUTF8
        /// Not JSON grammar: a missing comma, a stray byte, trailing content.
        case syntax
        /// An object with the same key twice (`key` and `path` say which).
        case duplicateKey
        /// A `\u` escape that is half of a surrogate pair.
        case loneSurrogate
        /// A number too large for a 64-bit float (`1e999`).
        case numberOutOfRange
        /// Arrays and objects nested deeper than the parser's limit.
        case tooDeep
    }

    public var code: Code
    public var message: String
    /// Byte offset of the problem in the text (0-based).
    public var offset: Int
    /// 1-based line and column (in bytes) of `offset`.
    public var line: Int
    public var column: Int

    public init(code: Code, message: String, offset: Int, line: Int, column: Int) {
        self.code = code
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}
