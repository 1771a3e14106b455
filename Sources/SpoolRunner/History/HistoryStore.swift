import Foundation
import GRDB

/// The history store: SQLite in WAL mode, the source of truth that status files project.
///
/// The runner holds the only writer; the CLI opens it read-only, so `status` and `history` work
/// with or without a running runner and can never disturb it.
public final class HistoryStore: Sendable {
    public let database: any DatabaseWriter

    /// Opens (creating and migrating) the store for the runner.
    /// - Throws: `HistoryError` naming the file.
    public init(path: String) throws(HistoryError) {
        var configuration = Configuration()
        // A reader such as `sqlite3` holding a transaction must not make a write fail at once.
        configuration.busyMode = .timeout(10)
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
        } catch {
            throw HistoryError(path: path, message: "cannot open or migrate the history store: \(error)")
        }
    }

    /// Opens the store read-only, for the CLI.
    /// - Throws: `HistoryError` when the file is missing or unreadable.
    public init(readOnlyPath path: String) throws(HistoryError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw HistoryError(path: path, message: "no history store here; has `spoolrunner serve` run on this spool? (use --spool or --db)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "spoolrunner.history.readonly"
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw HistoryError(path: path, message: "cannot read the history store: \(error)")
        }
    }

    /// An in-memory store with the real schema, for tests.
    public init(inMemory: Void) throws {
        let queue = try DatabaseQueue()
        try HistoryMigrator.migrator.migrate(queue)
        database = queue
    }

    /// One write transaction (`BEGIN IMMEDIATE`); returns once it is durable.
    public func write<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        try database.write { db in
            let result = try body(db)
            CrashPoint.step("commit")
            return result
        }
    }

    public func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
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
    public var description: String { "\(path): \(message)" }
}
