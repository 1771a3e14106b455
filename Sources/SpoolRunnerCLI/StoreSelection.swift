import ArgumentParser
import Foundation
import SpoolRunner
import SpoolStorePostgres

/// Which history store a command reads: the spool's SQLite file (`--db`, the default) or the
/// PostgreSQL store of a fleet (`--store`, SPEC §9).
///
/// Flags win over the environment. `--db` with `--store`, or `SPOOLRUNNER_DB` and
/// `SPOOLRUNNER_STORE` both set without either flag, is a usage error (64): the command would
/// otherwise read one store while the user meant the other.
enum StoreSelection {
    case sqlite(SpoolOptions)
    case postgres(StoreOptions)

    static func resolve(spool: SpoolOptions, store: StoreOptions) throws -> StoreSelection {
        let environment = ProcessInfo.processInfo.environment
        let envStore = environment["SPOOLRUNNER_STORE"].map { !$0.isEmpty } ?? false
        let envDB = environment["SPOOLRUNNER_DB"].map { !$0.isEmpty } ?? false
        let selection: StoreSelection
        switch (spool.db != nil, store.store != nil) {
        case (true, true):
            throw ValidationError(
                "--db and --store name two stores: give one (--db for SQLite, --store for PostgreSQL)")
        case (false, true): selection = .postgres(store)
        case (true, false): selection = .sqlite(spool)
        case (false, false):
            if envStore, envDB {
                throw ValidationError(
                    "SPOOLRUNNER_DB and SPOOLRUNNER_STORE are both set: unset one, or give --db or --store")
            }
            selection = envStore ? .postgres(store) : .sqlite(spool)
        }
        if case .sqlite = selection, store.storePasswordFile != nil {
            throw ValidationError("--store-password-file needs --store URL (or SPOOLRUNNER_STORE)")
        }
        if case .postgres(let options) = selection { _ = try options.url() }
        return selection
    }

    /// The store for messages: the SQLite file, or the URL with its password masked.
    var location: String {
        switch self {
        case .sqlite(let spool): spool.databasePath
        case .postgres(let options): (try? options.url().description) ?? "the store"
        }
    }

    /// Runs `body` with the selected store, read-only for SQLite; a PostgreSQL store reads on one
    /// connection. A PostgreSQL database never migrated has no history: `.notFound` (exit 66). A
    /// store failure exits with its status (`fail`).
    func withReader<Result: Sendable>(_ body: @Sendable (any StoreReader) async throws -> Result) async throws
        -> Result
    {
        do {
            return try await reader(body)
        } catch let error as StoreError {
            throw fail(error)
        }
    }

    private func reader<Result: Sendable>(_ body: @Sendable (any StoreReader) async throws -> Result) async throws
        -> Result
    {
        switch self {
        case .sqlite(let spool):
            return try await body(spool.openReadOnly())
        case .postgres(let options):
            return try await options.withReadStore(runnerID: "cli") { store in
                // No version check before the read: it would cost a round trip on every command
                // (P6 times them whole). A never-migrated database fails the read itself with
                // undefined_table, and only then is the schema looked at.
                do {
                    return try await body(store)
                } catch let error as StoreError {
                    guard await store.isNeverMigrated(error) else { throw error }
                    throw Self.neverMigrated(store, operation: "read")
                }
            }
        }
    }

    /// A PostgreSQL database with no spoolrunner schema: nothing to read or control (66).
    static func neverMigrated(_ store: PostgresStore, operation: String) -> StoreError {
        StoreError(
            .notFound, location: store.location, operation: operation,
            message:
                "this PostgreSQL store has no spoolrunner schema yet: run `spoolrunner migrate --store URL` or start `spoolrunner serve --store URL`"
        )
    }

    /// Runs `body` with the PostgreSQL store, as `cli/<host>` (the runner id the events it writes
    /// carry: `cancel`/`retry --store`); like `withReader`, a database never migrated is
    /// `.notFound` (66).
    static func withControlStore<Result: Sendable>(
        _ options: StoreOptions, _ body: @Sendable (PostgresStore) async throws -> Result
    ) async throws -> Result {
        do {
            return try await options.withStore(runnerID: "cli/\(ProcessInfo.processInfo.hostName)") { store in
                guard try await store.migrationState() != nil else {
                    throw neverMigrated(store, operation: "control")
                }
                return try await body(store)
            }
        } catch let error as StoreError {
            throw fail(error)
        }
    }

    /// Runs `body` with the selected store, writable (`prune`); a store failure exits with its
    /// status.
    func withStore<Result: Sendable>(_ body: @Sendable (any Store) async throws -> Result) async throws -> Result {
        do {
            switch self {
            case .sqlite(let spool):
                return try await body(try SQLiteStore(path: spool.databasePath))
            case .postgres(let options):
                return try await options.withStore(runnerID: "cli") { store in try await body(store) }
            }
        } catch let error as StoreError {
            throw fail(error)
        }
    }
}
