import ArgumentParser
import Foundation
import Logging
import SpoolStorePostgres

/// `--store URL` and `--store-password-file FILE`: a PostgreSQL store shared by several runners
/// (SPEC §9). Only the commands that take it ever open a network connection.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL store: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require&schema=NAME] (env SPOOLRUNNER_STORE).",
            valueName: "URL"))
    var store: String?

    @Option(
        name: .long, help: ArgumentHelp("Read the store's password from the first line of FILE.", valueName: "FILE"),
        completion: .file())
    var storePasswordFile: String?

    /// Whether a store is named, by `--store` or `SPOOLRUNNER_STORE`.
    var isSelected: Bool {
        store != nil || !(ProcessInfo.processInfo.environment["SPOOLRUNNER_STORE"] ?? "").isEmpty
    }

    /// The parsed URL; a missing or bad one is a usage error (64) naming what is wrong.
    func url() throws -> StoreURL {
        guard let store = store ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_STORE"], !store.isEmpty else {
            throw ValidationError("--store URL (or SPOOLRUNNER_STORE) is required")
        }
        do {
            return try StoreURL.parse(store, passwordFile: storePasswordFile)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Runs `body` with a store whose pool runs meanwhile; the store's failures exit 74 (or 76
    /// for a schema newer than this build), naming the redacted URL.
    func withStore<Result: Sendable>(
        runnerID: String, _ body: @Sendable (PostgresStore) async throws -> Result
    ) async throws -> Result {
        try await Self.withStore(url: try url(), runnerID: runnerID, body)
    }

    /// Runs `body` with a store whose reads run on one connection (`PostgresStore.connect`): for
    /// the read commands, whose whole conversation with the server is then that connection's
    /// start-up and their queries (no pool, no separate reachability check). Failures exit as
    /// `withStore`'s do.
    func withReadStore<Result: Sendable>(
        runnerID: String, _ body: @Sendable (PostgresStore) async throws -> Result
    ) async throws -> Result {
        let url = try url()
        let logger = Logger(label: "spoolrunner.store", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            let store = try await PostgresStore.connect(url: url, runnerID: runnerID, logger: logger)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        } catch let error as PostgresStoreError {
            let code = error.code == .schemaTooNew ? ExitStatus.storeTooNew : ExitStatus.ioError
            throw fail("store \(url): \(error.description)", code)
        }
    }

    /// `withStore` for a URL given another way (`store copy --to`).
    static func withStore<Result: Sendable>(
        url: StoreURL, runnerID: String, _ body: @Sendable (PostgresStore) async throws -> Result
    ) async throws -> Result {
        let logger = Logger(label: "spoolrunner.store", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = PostgresStore(url: url, runnerID: runnerID, poolSize: 1, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            do {
                try await store.checkReachable()
                return try await body(store)
            } catch let error as PostgresStoreError {
                let code = error.code == .schemaTooNew ? ExitStatus.storeTooNew : ExitStatus.ioError
                throw fail("store \(url): \(error.description)", code)
            }
        }
    }
}
