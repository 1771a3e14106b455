import Foundation
import GRDB
import GRDBSQLite
import SpoolClient
import Synchronization

/// The history store on SQLite (SPEC §7): WAL mode, `synchronous=FULL`, the source of truth
/// that status files project.
///
/// It owns every SQL statement and transaction of the program: the rest of the code asks for
/// domain operations (`Store`, `StoreReader`). The runner opens it read-write and is its only
/// writer; the CLI and the HTTP gateway open it read-only, so reading never disturbs a runner.
public final class SQLiteStore: Store {
    /// The database file (`:memory:` for the in-memory store of tests).
    public let path: String
    public var location: String { path }
    /// The runner's writes' busy timeout, restored after a busy spell.
    private let busyTimeout: Double
    /// The runner's connection pool; nil for a read-only store.
    private let writer: (any DatabaseWriter)?
    /// A read-only store's connection, opened on first use: the file may not exist until a
    /// runner creates it (a dashboard started before the runner shows an empty history).
    private let lazyReader = Mutex<(any DatabaseReader)?>(nil)

    /// The busy timeout of the runner's writes (SPEC §7 asks at least 5 s).
    public static let defaultBusyTimeout: Double = 10

    /// Opens (creating and migrating) the store for the runner.
    /// - Parameter busyTimeout: how long a write waits for another connection's lock before it
    ///   fails as busy (and the runner pauses, see `RunnerPause`).
    /// - Throws: `StoreError` (`.cannotOpen`, `.schemaTooNew`) naming the file.
    public init(path: String, busyTimeout: Double = SQLiteStore.defaultBusyTimeout) throws(StoreError) {
        var configuration = Configuration()
        // A reader such as `sqlite3` holding a transaction must not make a write fail at once.
        configuration.busyMode = .timeout(busyTimeout)
        // Every commit gates an irreversible step (a request leaving inbox/, a spawn): FULL makes
        // it durable before the step. Group commit keeps the fsync count low under load.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // GRDB 7 opens write transactions with BEGIN IMMEDIATE itself: a writer never fails
        // half-way on a lock upgrade.
        configuration.label = "spoolrunner.history"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError(
                .cannotOpen, location: path, operation: "open",
                message: "cannot open the history store: \(error)", cause: error)
        }
        do {
            try Self.migrate(pool, path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(
                .cannotOpen, location: path, operation: "migrate",
                message: "cannot migrate the history store: \(error)", cause: error)
        }
        writer = pool
        self.path = path
        self.busyTimeout = busyTimeout
    }

    /// A store for reading only, opened on first use (see `lazyReader`).
    public init(readOnlyPath path: String) {
        self.path = path
        writer = nil
        busyTimeout = Self.defaultBusyTimeout
    }

    /// An in-memory store with the real schema, for tests.
    public init(inMemory: Void) throws {
        let queue = try DatabaseQueue()
        try HistoryMigrator.migrator.migrate(queue)
        writer = queue
        path = ":memory:"
        busyTimeout = Self.defaultBusyTimeout
    }

    private static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = HistoryMigrator.migrator
        let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
        if superseded {
            let version = try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
            throw StoreError(
                .schemaTooNew, location: path, operation: "migrate",
                message:
                    "the history store has schema version \(version), newer than the \(HistoryMigrator.currentVersion) this spoolrunner knows; run the spoolrunner that wrote it, or a newer one"
            )
        }
        try migrator.migrate(pool)
    }

    /// The connection itself, for the store's own tests (`@testable import SpoolStore`), which
    /// check the schema and rows with plain SQL.
    var testDatabase: any DatabaseReader {
        get throws { try reader("test") }
    }

    /// The writer, for the store's own tests.
    var testWriter: any DatabaseWriter {
        get throws {
            guard let writer else { throw StoreError(.failed, location: path, operation: "test", message: "read-only") }
            return writer
        }
    }

    // MARK: - Transactions

    /// The connection reads go through: the writer's pool, or the read-only connection.
    func reader(_ operation: String) throws(StoreError) -> any DatabaseReader {
        if let writer { return writer }
        if let open = lazyReader.withLock({ $0 }) { return open }
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(
                .notFound, location: path, operation: operation,
                message: "no history store here; has `spoolrunner serve` run on this spool? (use --spool or --db)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "spoolrunner.history.readonly"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return lazyReader.withLock { current in
                if let current { return current }
                current = queue
                return queue
            }
        } catch {
            throw StoreError(
                .cannotOpen, location: path, operation: operation,
                message: "cannot read the history store: \(error)", cause: error)
        }
    }

    /// One read transaction, off the caller's thread.
    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws(StoreError) -> T
    {
        let database = try reader(operation)
        do {
            return try await database.read(body)
        } catch {
            throw classified(error, operation: operation, verb: "read")
        }
    }

    /// One write transaction (`BEGIN IMMEDIATE`), off the caller's thread; returns once it is
    /// durable.
    /// - Throws: `StoreError`; `.busy` or `.full` when the failure is one to wait out (nothing of
    ///   the transaction was written).
    func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws(StoreError) -> T
    {
        guard let writer else {
            throw StoreError(
                .failed, location: path, operation: operation, message: "the history store is open read-only")
        }
        do {
            return try await writer.writeWithoutTransaction { db in
                try Self.transaction(db, body)
            }
        } catch {
            throw classified(error, operation: operation, verb: "write")
        }
    }

    private static func transaction<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        var result: T?
        do {
            try db.inTransaction {
                result = try body(db)
                CrashPoint.step("commit")
                return .commit
            }
        } catch let error as DatabaseError {
            // Read now: the errno of the failed write, before anything else touches it.
            throw FailedWrite(error: error, systemErrno: sqlite3_system_errno(db.sqliteConnection))
        }
        return result!
    }

    /// A DatabaseError and the errno behind it.
    private struct FailedWrite: Error {
        var error: DatabaseError
        var systemErrno: Int32
    }

    private func classified(_ error: any Error, operation: String, verb: String) -> StoreError {
        if let error = error as? StoreError { return error }
        let databaseError: DatabaseError
        var systemErrno: Int32 = 0
        if let failed = error as? FailedWrite {
            databaseError = failed.error
            systemErrno = failed.systemErrno
        } else if let error = error as? DatabaseError {
            databaseError = error
        } else {
            return StoreError(
                .failed, location: path, operation: operation,
                message: "cannot \(verb) the history store (\(operation)): \(error)")
        }
        var message = "cannot \(verb) the history store (\(operation)): \(databaseError)"
        if systemErrno != 0 { message += " (\(String(cString: strerror(systemErrno))))" }
        return StoreError(
            Self.code(of: databaseError, systemErrno: systemErrno), location: path, operation: operation,
            message: message, cause: databaseError)
    }

    static func code(of error: DatabaseError, systemErrno: Int32) -> StoreError.Code {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: .busy
        case .SQLITE_FULL: .full
        case .SQLITE_IOERR where systemErrno == ENOSPC || systemErrno == EDQUOT: .full
        default: .failed
        }
    }

    // MARK: - Maintenance

    /// Sets the writer's busy timeout: shorter while the runner waits out a busy store, so that
    /// each retry holds the engine loop (and runner.json's heartbeat) for a second, not ten.
    public func setBusyTimeout(_ seconds: Double?) async {
        let seconds = seconds ?? busyTimeout
        // Best effort: a failure leaves the previous timeout, which is only slower to retry.
        _ = try? await writer?.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = \(Int(seconds * 1000))")
        }
    }

    /// Runs a passive WAL checkpoint so the WAL stays bounded even while readers come and go.
    public func checkpoint() async {
        // Best effort: a checkpoint that cannot run now (a reader holds the WAL) runs next time.
        _ = try? await writer?.writeWithoutTransaction { db in
            try db.checkpoint(.passive)
        }
    }
}
