import Logging
import PostgresNIO

/// Brings a database to the schema this build knows, once, however many runners start at once.
///
/// Everything happens in one transaction under `pg_advisory_xact_lock(<migration key>)`: the
/// first starter applies what is missing while the others wait on the lock, then find nothing
/// left to do. DDL is transactional in PostgreSQL, so a failed migration leaves nothing behind.
public enum StoreMigrator {
    public struct Report: Sendable, Equatable {
        /// The database's version before and after.
        public var from: Int
        public var to: Int
        public var applied: [Int]

        public init(from: Int, to: Int, applied: [Int]) {
            self.from = from
            self.to = to
            self.applied = applied
        }
    }

    /// - Throws: `PostgresStoreError` `.schemaTooNew` naming both versions when the database is
    ///   newer than `migrations`; `.database` when a statement fails.
    public static func migrate(
        _ client: PostgresClient, schema: String?, migrations: [StoreMigration] = StoreMigration.all,
        logger: Logger
    ) async throws -> Report {
        let known = migrations.map(\.version).max() ?? 0
        do {
            return try await client.withTransaction(logger: logger) { connection in
                // Waiting for another starter's migrations is not a stuck statement.
                try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(\(AdvisoryKey.migrations(schema: schema)))", logger: logger)
                if let schema {
                    // The URL parser allows only [a-z_][a-z0-9_]*: safe to quote into DDL.
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
                }
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version    int PRIMARY KEY,
                        name       text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
                let rows = try await connection.query(
                    "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations", logger: logger)
                var current = 0
                for try await (version) in rows.decode(Int64.self) { current = Int(version) }
                guard current <= known else {
                    throw PostgresStoreError(
                        .schemaTooNew,
                        "the store's schema is version \(current), newer than version \(known) that this spoolrunner knows: run a spoolrunner of the store's version or newer"
                    )
                }
                let start = current
                var applied: [Int] = []
                for migration in migrations.sorted(by: { $0.version < $1.version }) where migration.version > current {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                    applied.append(migration.version)
                    current = migration.version
                    logger.info(
                        "store migration applied",
                        metadata: ["store.migration": "\(migration.version) \(migration.name)"])
                }
                return Report(from: start, to: current, applied: applied)
            }
        } catch {
            throw PostgresStoreError.wrap(error, "migrating the store failed")
        }
    }

    /// The database's schema version, or nil when it was never migrated (no `schema_migrations`).
    public static func currentVersion(_ client: PostgresClient, logger: Logger) async throws -> Int? {
        do {
            let exists = try await client.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            var found = false
            for try await value in exists.decode(Bool.self) { found = value }
            guard found else { return nil }
            let rows = try await client.query(
                "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations", logger: logger)
            var version = 0
            for try await value in rows.decode(Int64.self) { version = Int(value) }
            return version
        } catch {
            throw PostgresStoreError.wrap(error, "reading the store's schema version")
        }
    }
}
