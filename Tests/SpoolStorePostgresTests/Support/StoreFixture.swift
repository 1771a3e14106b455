import Foundation
import Logging
import PostgresNIO
import SpoolStorePostgres
import Testing

/// Quiet loggers: the tests read the store, not the driver's chatter.
let quietLogger = Logger(label: "spoolrunner-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `body` with `count` stores (runners `runner-0`, `runner-1`, …) on a new database of the
/// shared test server, each with its pool running; `migrate` applies the schema first.
func withStores<Result: Sendable>(
    _ label: String, count: Int = 1, migrate: Bool = true, schema: String? = nil,
    _ body: @Sendable ([PostgresStore]) async throws -> Result
) async throws -> Result {
    let server = try PostgresTestServer.require()
    var url = try await server.database(label)
    url.schema = schema
    let stores = (0..<count).map { PostgresStore(url: url, runnerID: "runner-\($0)", logger: quietLogger) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        for store in stores { group.addTask { await store.run() } }
        do {
            if migrate { _ = try await stores[0].migrate() }
            let result = try await body(stores)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

extension PostgresStore {
    /// One value of a test query's single-column result.
    func value<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type = T.self) async throws -> T? {
        var result: T?
        for try await value in try await client.query(query, logger: quietLogger).decode(T.self) { result = value }
        return result
    }

    /// Every value of a test query's single-column result.
    func values<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type = T.self) async throws -> [T] {
        var result: [T] = []
        for try await value in try await client.query(query, logger: quietLogger).decode(T.self) {
            result.append(value)
        }
        return result
    }

    func execute(_ query: PostgresQuery) async throws {
        try await client.query(query, logger: quietLogger)
    }

    /// Registers this store's runner as a fresh identity on a fake machine of its own.
    ///
    /// The default lease outlives any test, however loaded the machine (the whole suite in
    /// parallel once stretched a claim test past a 15 s lease, and its claims rightly stopped):
    /// tests of expiry give a short one or set `expires_at` themselves.
    func registerTestRunner(lease: Duration = .seconds(600), machine: String? = nil) async throws -> Lease {
        let identity = RunnerIdentity(
            runnerID: runnerID, machineID: machine ?? "machine-\(runnerID)", bootID: "boot-1",
            hostname: "host-\(runnerID)", spool: "/spool/\(runnerID)", pid: 4_000_000, pidStartTicks: 1,
            version: "test", maxTasks: 8)
        return try await register(identity, lease: lease).lease
    }
}

/// A request of `tasks` tasks, created at `second` seconds past a fixed instant.
func testRequest(_ id: String, type: String = "greet", second: Int = 0, tasks: Int = 3, body: String? = nil)
    -> StoredRequest
{
    let json = body ?? #"{"type":"\#(type)","id":"\#(id)","inputs":{}}"#
    return StoredRequest(
        processID: id, processType: type, inputsJSON: "{}", requestJSON: json,
        definitionSHA256: Data("def-\(type)".utf8), definitionYAML: "type: \(type)\n",
        createdAt: String(format: "2026-11-30T06:00:%02d.000Z", second % 60),
        tasks: (0..<tasks).map { StoredRequest.Task(taskName: "t\($0)", position: $0, mode: "sync") })
}
