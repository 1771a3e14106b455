import PostgresNIO
import SpoolRunner

extension PostgresStore {
    /// The `StoreError` the engine and the CLI act on, for any failure of this store: the code
    /// says whether the runner waits it out (`.busy`, `.full`: nothing of the write was kept) or
    /// stops, the message is the driver's and the server's (never the password: `location` is
    /// the redacted URL), the cause is kept.
    func storeError(_ error: any Error, _ operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        let wrapped = PostgresStoreError.wrap(error, "cannot \(operation)")
        let code: StoreError.Code =
            switch wrapped.code {
            case .schemaTooNew: .schemaTooNew
            case .runnerIDInUse, .leaseLost: .failed
            case .database: Self.code(of: wrapped.cause)
            }
        return StoreError(
            code, location: url.description, operation: operation, message: wrapped.description, cause: wrapped)
    }

    /// `.busy` for what passes (the server unreachable or restarting, a lock or statement
    /// timeout, a deadlock, too many connections), `.full` for a full disk, `.failed` for the rest.
    static func code(of cause: (any Error)?) -> StoreError.Code {
        guard let cause else { return .failed }
        if let transaction = cause as? PostgresTransactionError {
            return code(of: transaction.closureError ?? transaction.beginError ?? transaction.commitError)
        }
        if let store = cause as? PostgresStoreError { return code(of: store.cause) }
        guard let error = cause as? PSQLError else { return .failed }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            // disk_full, out_of_memory, insufficient_resources
            case "53100", "53200", "53000": return .full
            // too_many_connections, lock_not_available, query_canceled (statement/lock timeout),
            // serialization_failure, deadlock_detected, admin_shutdown, crash_shutdown,
            // cannot_connect_now, read_only_sql_transaction (a failover in progress)
            case "53300", "55P03", "57014", "40001", "40P01", "57P01", "57P02", "57P03", "25006": return .busy
            default: return state.hasPrefix("08") ? .busy : .failed
            }
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .queryCancelled:
            return .busy
        default:
            return .failed
        }
    }

    /// Whether a failed read failed because this database has no spoolrunner schema at all: the
    /// server said undefined_table (42P01) and there is no `schema_migrations`. Asked only once a
    /// read failed, so that reading a migrated store costs no round trip for the check.
    public func isNeverMigrated(_ error: StoreError) async -> Bool {
        guard Self.sqlState(of: error) == "42P01" else { return false }
        do {
            var found = true
            for try await value in try await rows("SELECT to_regclass('schema_migrations') IS NOT NULL").decode(
                Bool.self)
            {
                found = value
            }
            return !found
        } catch {
            return false
        }
    }

    /// The server's SQLSTATE somewhere in the causes of `error`, if it is the server's error.
    static func sqlState(of error: (any Error)?) -> String? {
        switch error {
        case let error as StoreError: sqlState(of: error.cause)
        case let error as PostgresStoreError: sqlState(of: error.cause)
        case let error as PostgresTransactionError: sqlState(of: error.closureError)
        case let error as PSQLError: error.serverInfo?[.sqlState]
        default: nil
        }
    }

    /// Runs `body`, every failure turned into a `StoreError` saying what `operation` was.
    ///
    /// Never waits for good: `body` is given up when the calling task is cancelled, or when no
    /// answer came within `limit` (see `withDeadline`; nil for a call made of many statements,
    /// such as a prune of a million processes, which is still given up when cancelled). After the database stopped
    /// answering with its connections still open, calls queued in postgres-nio's pool were seen
    /// never to return, even once the connections broke and new calls went through: the
    /// leader's reaper then held a graceful stop back for good, and a re-registration kept the
    /// runner from ever working again.
    @discardableResult
    func storeCall<T: Sendable>(
        _ operation: String, limit: Duration? = storeCallLimit, _ body: @escaping @Sendable () async throws -> T
    ) async throws(StoreError) -> T {
        do {
            return try await Self.withDeadline(limit, operation, body)
        } catch {
            throw storeError(error, operation)
        }
    }

    /// The values of a one-column text result (the JSON rows of `RowJSON`).
    func texts(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [String] {
        let rows = try await self.rows(query, on: connection)
        var result: [String] = []
        for try await text in rows.decode(String.self) { result.append(text) }
        return result
    }

    /// The rows of `query`, on `connection` when given, else on the store's own session (a store
    /// made by `connect`), else on a pooled connection.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> PostgresRowSequence {
        if let connection = connection ?? session {
            return try await connection.query(query, logger: logger)
        }
        return try await client.query(query, logger: logger)
    }
}
