/// A failure of the spool itself (not of one request): a directory that cannot be created, a lock
/// held by another runner, a file that cannot be written.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotCreate, locked, cannotWrite, cannotRead
        /// The spool is laid out so that another user could make the runner write elsewhere: a
        /// symlink where a directory belongs, a world-writable directory without the sticky bit.
        case unsafe
        /// A client's drop found a file of the same name already waiting (`link(2)` gave EEXIST).
        case alreadyWaiting
    }

    public var code: Code
    public var path: String
    public var message: String
    /// The errno of the failed call, when one failed: it decides whether the runner waits
    /// (ENOSPC, EDQUOT), recreates a directory (ENOENT) or just retries.
    public var systemErrno: Int32?

    public init(_ code: Code, path: String, message: String, systemErrno: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.systemErrno = systemErrno
    }

    public var description: String { "\(path): \(message)" }
}
