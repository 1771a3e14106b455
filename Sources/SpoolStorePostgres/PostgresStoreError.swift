import PostgresNIO

/// What went wrong in the PostgreSQL store, with the server's own words kept as the cause.
///
/// postgres-nio's `PSQLError` prints a generic text on purpose (it may carry query data); the
/// message here adds the server's message and SQLSTATE, which never carry the password.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The database's schema is newer than this build knows: upgrade spoolrunner.
        case schemaTooNew
        /// Another live runner, on another machine, uses this runner id.
        case runnerIDInUse
        /// This runner's lease is over (expired, or taken by a newer incarnation): self-fence.
        case leaseLost
        /// The server could not be reached or a statement failed.
        case database
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        guard let cause else { return message }
        return "\(message): \(Self.explain(cause))"
    }

    /// The server's message and SQLSTATE of a postgres-nio error, unwrapped from a transaction.
    public static func explain(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return explain(inner) }
        }
        if let error = error as? PostgresStoreError { return error.description }
        if let error = error as? PSQLError {
            if let server = error.serverInfo, let message = server[.message] {
                return "\(message) (SQLSTATE \(server[.sqlState] ?? "?"))"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// `error` itself when it is already ours (also inside a transaction), else wrapped as `database`.
    static func wrap(_ error: any Error, _ what: String) -> PostgresStoreError {
        if let error = error as? PostgresStoreError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError as? PostgresStoreError {
            return inner
        }
        return PostgresStoreError(.database, what, cause: error)
    }
}
