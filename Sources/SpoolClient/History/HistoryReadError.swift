/// The history store could not answer a client's query: which file, what went wrong, and the
/// underlying SQLite error when there is one.
public struct HistoryReadError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No runner has created the store yet: for a dashboard, an empty history.
        case missing
        case cannotOpen
        case queryFailed
    }

    public var code: Code
    public var path: String
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, path: String, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(path): \(message)" }
}
