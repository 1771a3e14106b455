import Foundation
import GRDB
import GRDBSQLite

/// The history store: SQLite in WAL mode, the source of truth that status files project.
///
/// The runner holds the only writer; the CLI opens it read-only, so `status` and `history` work
/// with or without a running runner and can never disturb it.
public final class HistoryStore: Sendable {
    public let database: any DatabaseWriter
    /// The database file (`:memory:` for the in-memory store of tests).
    public let path: String

    /// Opens (creating and migrating) the store for the runner.
    /// - Throws: `HistoryError` naming the file.
    /// - Parameter busyTimeout: how long a write waits for another connection's lock before it
    ///   fails as busy (and the runner pauses, see `RunnerPause`).
    public init(path: String, busyTimeout: Double = HistoryStore.busyTimeout) throws(HistoryError) {
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
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try HistoryMigrator.migrator.migrate(pool)
            database = pool
            self.path = path
        } catch {
            throw HistoryError(path: path, message: "cannot open or migrate the history store: \(error)")
        }
    }

    /// The busy timeout of the runner's writes (SPEC §7 asks at least 5 s).
    public static let busyTimeout: Double = 10

    /// Sets the writer's busy timeout: shorter while the runner waits out a busy store, so that
    /// each retry holds the engine loop (and runner.json's heartbeat) for a second, not ten.
    public func setBusyTimeout(_ seconds: Double) async {
        _ = try? await database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = \(Int(seconds * 1000))")
        }
    }

    /// Opens the store read-only, for the CLI.
    /// - Throws: `HistoryError` when the file is missing or unreadable.
    public init(readOnlyPath path: String) throws(HistoryError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HistoryError(
                path: path,
                message: "no history store here; has `spoolrunner serve` run on this spool? (use --spool or --db)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "spoolrunner.history.readonly"
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            self.path = path
        } catch {
            throw HistoryError(path: path, message: "cannot read the history store: \(error)")
        }
    }

    /// An in-memory store with the real schema, for tests.
    public init(inMemory: Void) throws {
        let queue = try DatabaseQueue()
        try HistoryMigrator.migrator.migrate(queue)
        database = queue
        path = ":memory:"
    }

    /// One write transaction (`BEGIN IMMEDIATE`); returns once it is durable.
    /// - Throws: `HistoryError`, with `pauseReason` set when the failure is one to wait out
    ///   (busy past the busy timeout, full): nothing of the transaction was written.
    public func write<T: Sendable>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do {
            return try database.writeWithoutTransaction { db in
                try Self.transaction(db, body)
            }
        } catch {
            throw classified(error)
        }
    }

    /// `write` without blocking the caller's thread: the engine awaits its commits, so a store
    /// held by another connection for the whole busy timeout does not hold a thread of the
    /// cooperative pool.
    public func commit<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(HistoryError) -> T {
        do {
            return try await database.writeWithoutTransaction { db in
                try Self.transaction(db, body)
            }
        } catch {
            throw classified(error)
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

    private func classified(_ error: any Error) -> HistoryError {
        let path = database.path
        if let failed = error as? FailedWrite {
            var message = "cannot write the history store: \(failed.error)"
            if failed.systemErrno != 0 { message += " (\(String(cString: strerror(failed.systemErrno))))" }
            return HistoryError(
                path: path, message: message,
                pauseReason: PauseReason(storeError: failed.error, systemErrno: failed.systemErrno))
        }
        if let error = error as? DatabaseError {
            return HistoryError(
                path: path, message: "cannot write the history store: \(error)",
                pauseReason: PauseReason(storeError: error, systemErrno: 0))
        }
        return HistoryError(path: path, message: "cannot write the history store: \(error)")
    }

    public func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    /// Records that this store belongs to the spool `identity` (at `path`), or checks that it
    /// does: one store per spool.
    /// - Throws: `StoreOwnershipError` when the store belongs to another spool; `HistoryError`
    ///   when it cannot be read or written.
    public func bind(toSpool identity: String, path: String) throws {
        let outcome: StoreOwnershipError? = try database.write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT spool_id, spool_path, recorded_at FROM spool_identity WHERE id = 1")
            {
                let owner: String = row["spool_id"]
                guard owner == identity else {
                    return StoreOwnershipError(
                        storePath: self.path, ownerIdentity: owner, ownerPath: row["spool_path"], identity: identity,
                        spoolPath: path)
                }
                // A spool moved with its identity file and store is still the same spool.
                try db.execute(
                    sql: "UPDATE spool_identity SET spool_path = ? WHERE id = 1 AND spool_path <> ?",
                    arguments: [path, path])
                return nil
            }
            try db.execute(
                sql: "INSERT INTO spool_identity (id, spool_id, spool_path, recorded_at) VALUES (1, ?, ?, ?)",
                arguments: [identity, path, Timestamp.now()])
            return nil
        }
        if let outcome { throw outcome }
    }

    /// Runs a passive WAL checkpoint so the WAL stays bounded even while readers come and go.
    public func checkpoint() {
        _ = try? database.writeWithoutTransaction { db in
            try db.checkpoint(.passive)
        }
    }
}

/// The history store cannot be opened, read or written.
public struct HistoryError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// Set when the failure is one the runner waits out (busy, full) rather than stops on.
    public var pauseReason: PauseReason?

    public init(path: String, message: String, pauseReason: PauseReason? = nil) {
        self.path = path
        self.message = message
        self.pauseReason = pauseReason
    }

    public var description: String { "\(path): \(message)" }
}

/// The history store belongs to another spool: its processes are that spool's runner's, and
/// resuming them here would run their tasks twice at the same time.
public struct StoreOwnershipError: Error, Sendable, CustomStringConvertible {
    public var storePath: String
    public var ownerIdentity: String
    public var ownerPath: String
    public var identity: String
    public var spoolPath: String

    public var description: String {
        "\(storePath): this history store belongs to the spool at \(ownerPath) (identity \(ownerIdentity)), not to \(spoolPath) (identity \(identity)); give each spool its own --db. If this is the same spool restored or copied without its runner.id, put back \(spoolPath)/runner.id holding \(ownerIdentity)."
    }
}
