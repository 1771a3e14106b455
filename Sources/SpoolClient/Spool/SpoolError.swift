import SystemPackage

/// A failure of the spool itself (not of one request): a directory that cannot be created, a lock
/// held by another runner, a file that cannot be written.
///
/// Shaped like swift-nio's `FileSystemError`: a `code` to act on (the CLI picks its exit status
/// from it, the runner decides from `errno` whether to wait), the `path`, a message for people,
/// and the failed system call kept whole as the `cause`. Built by the per-call constructors in
/// `SpoolError+Syscall.swift`.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case cannotCreate, locked, cannotWrite, cannotRead
        /// The spool is laid out so that another user could make the runner write elsewhere: a
        /// symlink where a directory belongs, a world-writable directory without the sticky bit.
        case unsafe
        /// A client's drop found a file of the same name already waiting (`link(2)` gave EEXIST).
        case alreadyWaiting
        /// One of the spool's own files holds something it never should (`runner.id` that is not
        /// an identity): the spool cannot be used until it is restored.
        case corrupt
    }

    public var code: Code
    public var path: String
    /// What went wrong, in words; the system's reason, when there is one, is `cause`.
    public var message: String
    /// The system call that failed, with its errno.
    public var cause: SystemCallError?

    public init(_ code: Code, path: String, message: String, cause: SystemCallError? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.cause = cause
    }

    /// The errno of the failed call: it decides whether the runner waits (ENOSPC, EDQUOT),
    /// recreates a directory (ENOENT) or gives up.
    public var errno: Errno? { cause?.errno }

    /// `path: message`, then the system's reason (`strerror`) when a call failed. A lock held by
    /// another runner, a request already waiting: the errno is the expected answer there, and the
    /// message already says what it means.
    public var description: String {
        guard let cause, code != .locked, code != .alreadyWaiting else { return "\(path): \(message)" }
        return "\(path): \(message): \(cause.errno)"
    }
}
