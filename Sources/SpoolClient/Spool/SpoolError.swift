/// A failure of the spool itself (not of one request): a directory that cannot be created, a lock
/// held by another runner, a file that cannot be written.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotCreate, locked, cannotWrite, cannotRead
        /// A client's drop found a file of the same name already waiting (`link(2)` gave EEXIST).
        case alreadyWaiting
    }

    public var code: Code
    public var path: String
    public var message: String

    public init(_ code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
