/// One numbered, frozen change to the PostgreSQL store's schema.
///
/// Applied once per database, in version order, recorded in `schema_migrations`. Never edit one
/// that has shipped: add the next number. Migrations are additive (new tables, new nullable or
/// defaulted columns), so runners of the previous version keep working during a rolling upgrade.
public struct StoreMigration: Sendable {
    public var version: Int
    public var name: String
    /// Run one by one in the migration's transaction: the extended query protocol takes one
    /// statement at a time.
    public var statements: [String]

    /// Every migration this build knows, in order.
    public static let all: [StoreMigration] = [
        .v1Schema, .v2StoreProtocol, .v3CopiedHistory, .v4CommitFunction,
        .v5SharedTransitionWrites,
    ]

    /// The newest version this build knows; a database at a newer one is refused.
    public static var latestVersion: Int { all.map(\.version).max() ?? 0 }
}
