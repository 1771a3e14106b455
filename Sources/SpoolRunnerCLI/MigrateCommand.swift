import ArgumentParser
import SpoolStorePostgres

/// `spoolrunner migrate --store URL`: brings a PostgreSQL store's schema to this version. `serve`
/// does the same at start; this runs it on its own (before a rolling upgrade, or by a DBA).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the PostgreSQL store's schema migrations (once, however many runners start at once).",
        discussion:
            "Migrations are numbered and recorded in schema_migrations; they run in one transaction under an advisory lock. A store whose schema is newer than this spoolrunner is refused (exit 76)."
    )

    @OptionGroup var store: StoreOptions

    func validate() throws { _ = try store.url() }

    func run() async throws {
        let report = try await store.withStore(runnerID: "migrate") { try await $0.migrate() }
        let url = try store.url()
        if report.applied.isEmpty {
            print("store \(url) is at schema version \(report.to): nothing to do")
        } else {
            let applied = report.applied.map(String.init).joined(separator: ", ")
            print("store \(url): schema version \(report.from) -> \(report.to) (applied \(applied))")
        }
    }
}
