import SystemPackage

/// The cause of a `SpoolError`: which system call failed and the errno it set (swift-nio's
/// `SystemCallError`).
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call's name as in its man page: `openat`, `mkdirat`, `renameat`, `flock`...
    public var systemCall: String
    public var errno: Errno

    public init(systemCall: String, errno: Errno) {
        self.systemCall = systemCall
        self.errno = errno
    }

    /// `renameat: No space left on device`.
    public var description: String { "\(systemCall): \(errno)" }
}
