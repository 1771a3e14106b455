import Foundation

/// The history store could not do what was asked: what kind of failure (`code`, which the
/// runner and the CLI act on), where (`location`), in what operation, and the underlying error.
///
/// The model is swift-nio's `FileSystemError`: a code to switch on, a message for people, and
/// the cause kept whole (a GRDB `DatabaseError` with its SQL and arguments, an errno).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// No store at the location yet (no runner has run on this spool).
        case notFound = "not_found"
        /// The store exists but cannot be opened or migrated (permissions, not a database).
        case cannotOpen = "cannot_open"
        /// Another connection held the lock past the busy timeout: wait and try again.
        case busy
        /// The store's disk or quota is full: wait and try again.
        case full
        /// The store belongs to another spool (one store per spool, SPEC §7).
        case foreignSpool = "foreign_spool"
        /// The store was written by a newer spoolrunner whose schema this one does not know.
        case schemaTooNew = "schema_too_new"
        /// Anything else: a corrupt file, an I/O error, a failed statement.
        case failed
    }

    public var code: Code
    /// The store's file or (masked) URL.
    public var location: String
    /// What was being done, in words: "commit a batch of 12 changes", "read process X".
    public var operation: String
    /// The whole message for people; `description` prefixes the location.
    public var message: String
    /// The error that caused this one (a GRDB `DatabaseError`, a `POSIXError`), kept as it was.
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, location: String, operation: String, message: String, cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.location = location
        self.operation = operation
        self.message = message
        self.cause = cause
    }

    /// Whether the runner waits this failure out (pausing intake and task starts) rather than
    /// stopping on it: nothing of the failed write was kept.
    public var isTransient: Bool { code == .busy || code == .full }

    public var description: String { "\(location): \(message)" }
}
