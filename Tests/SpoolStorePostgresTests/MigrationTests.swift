import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

@Suite("PostgreSQL store migrations and connections")
struct MigrationTests {
    @Test("three runners starting on an empty database apply the migrations once")
    func concurrentStarters() async throws {
        try await withStores("concurrent_migrate", count: 3, migrate: false) { stores in
            let reports = try await withThrowingTaskGroup(of: StoreMigrator.Report.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let latest = StoreMigration.latestVersion
            #expect(reports.filter { $0.applied == Array(1...latest) }.count == 1, "\(reports)")
            #expect(reports.filter { $0.applied.isEmpty && $0.from == latest }.count == 2, "\(reports)")
            #expect(reports.allSatisfy { $0.to == latest })
            let versions = try await stores[0].values("SELECT version::int8 FROM schema_migrations", as: Int64.self)
            #expect(versions == (1...latest).map(Int64.init))
            // And again: nothing to do.
            let again = try await stores[1].migrate()
            #expect(again == StoreMigrator.Report(from: latest, to: latest, applied: []))
        }
    }

    @Test("SPEC §7's tables keep their names and columns")
    func historyColumns() async throws {
        try await withStores("history_columns") { stores in
            let expected: [String: [String]] = [
                "processes": [
                    "process_id", "process_type", "status", "inputs_json", "request_json", "created_at", "started_at",
                    "ended_at", "error_json",
                ],
                "tasks": [
                    "process_id", "task_name", "status", "attempts", "started_at", "ended_at", "exit_code",
                    "output_json", "error_json",
                ],
                "events": ["id", "process_id", "task_name", "event", "at", "detail_json"],
                "rejections": ["id", "file_name", "received_at", "code", "message"],
            ]
            for (table, columns) in expected {
                let found = try await stores[0].values(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_name = \(table)",
                    as: String.self)
                #expect(Set(columns).isSubset(of: Set(found)), "\(table): \(found)")
            }
            let requestType = try await stores[0].value(
                """
                SELECT data_type::text FROM information_schema.columns
                 WHERE table_name = 'processes' AND column_name = 'request_json'
                """, as: String.self)
            #expect(requestType == "text", "request_json must stay verbatim text, not jsonb")
            let createdType = try await stores[0].value(
                """
                SELECT data_type::text FROM information_schema.columns
                 WHERE table_name = 'processes' AND column_name = 'created_at'
                """, as: String.self)
            #expect(createdType == "timestamp with time zone")
        }
    }

    @Test("a database newer than this build is refused, naming both versions")
    func tooNew() async throws {
        try await withStores("too_new") { stores in
            try await stores[0].execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
            do {
                _ = try await stores[1 - 1].migrate()
                Issue.record("a version 99 database was accepted")
            } catch let error as PostgresStoreError {
                #expect(error.code == .schemaTooNew)
                #expect(error.description.contains("version 99"), "\(error)")
                #expect(error.description.contains("version \(StoreMigration.latestVersion)"), "\(error)")
            }
        }
    }

    @Test("schema= puts every table in that schema")
    func schemaParameter() async throws {
        try await withStores("schema_param", schema: "fleet_b") { stores in
            let schemas = try await stores[0].values(
                """
                SELECT DISTINCT table_schema::text FROM information_schema.tables
                 WHERE table_name IN ('processes', 'runners', 'schema_migrations')
                """, as: String.self)
            #expect(schemas == ["fleet_b"])
        }
    }

    @Test("every session starts with the keepalive, timeout and name settings")
    func startupParameters() async throws {
        try await withStores("startup_params") { stores in
            let store = try #require(stores.first)
            #expect(try await store.value("SHOW tcp_keepalives_idle", as: String.self) == "5")
            #expect(try await store.value("SHOW tcp_keepalives_interval", as: String.self) == "2")
            #expect(try await store.value("SHOW tcp_keepalives_count", as: String.self) == "3")
            #expect(try await store.value("SHOW statement_timeout", as: String.self) == "30s")
            #expect(try await store.value("SHOW idle_in_transaction_session_timeout", as: String.self) == "1min")
            #expect(try await store.value("SHOW application_name", as: String.self) == "spoolrunner/runner-0")
        }
    }
}
