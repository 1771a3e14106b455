/// A `--store` URL that cannot be used, and why. Its text never contains the password.
public struct StoreURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case malformed, badScheme, missingUser, missingHost, badPort, missingSocket, badDatabase
        case badSSLMode, badSchema, unknownParameter, passwordTwice, passwordFile
    }

    public var code: Code
    /// The URL as given, password replaced by `***`.
    public var url: String
    public var message: String

    public var description: String { "--store \(url) \(message)" }

    /// Hides the password of `scheme://user:password@…` in any text, parsable or not: everything
    /// between the first `:` after `://` and the last `@` before the query. A `/` does not end the
    /// search, so an unencoded `/` in a password is hidden too.
    public static func redact(_ text: String) -> String {
        guard let start = text.range(of: "://") else { return text }
        let rest = text[start.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return text
        }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
