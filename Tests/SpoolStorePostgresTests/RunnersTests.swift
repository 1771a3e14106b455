import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("The fleet's runners: the store's view and the CLI")
struct RunnersTests {
    @Test("health, leader and owned processes of each runner")
    func listing() async throws {
        try await withStores("runners_listing", count: 4) { stores in
            var leases: [Lease] = []
            // A long lease: a loaded machine may take many seconds between here and the listing,
            // and runner-0 must still be healthy then (late is 2/5 of the lease without a renewal).
            for store in stores { leases.append(try await store.registerTestRunner(lease: .seconds(600))) }
            _ = try await stores[0].accept(testRequest("p1"), fileName: "p1", claimIfCapacity: true, lease: leases[0])
            _ = try await stores[0].accept(
                testRequest("p2", second: 1), fileName: "p2", claimIfCapacity: true, lease: leases[0])
            try await stores[1].release(leases[1])
            try await stores[2].execute(
                "UPDATE runners SET expires_at = now() - interval '1 second' WHERE runner_id = 'runner-2'")
            try await stores[3].execute(
                "UPDATE runners SET heartbeat_at = now() - interval '500 seconds' WHERE runner_id = 'runner-3'")
            let election = try LeaderElection(
                url: stores[0].url, runnerID: "runner-0", retryInterval: .milliseconds(50), logger: quietLogger)
            let leading = AsyncStream<Bool>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await election.run { leading.continuation.yield($0) } }
                for await leads in leading.stream where leads { break }
                let runners = try await stores[0].runners()
                group.cancelAll()
                #expect(runners.map(\.runnerID) == ["runner-0", "runner-1", "runner-2", "runner-3"])
                #expect(runners.map(\.health) == [.healthy, .stopped, .expired, .late])
                #expect(runners.map(\.leader) == [true, false, false, false])
                #expect(runners.map(\.ownedProcesses) == [2, 0, 0, 0])
                #expect(runners[0].hostname == "host-runner-0")
                #expect(runners[3].heartbeatAgeSeconds >= 499)
            }
        }
    }

    @Test("`spoolrunner migrate` and `runners` against the real store; a bad URL is a usage error")
    func commandLine() async throws {
        let server = try PostgresTestServer.require()
        let url = try await server.database("runners_cli")
        let text = "postgres://\(url.user)@127.0.0.1:\(Self.port(url))/\(url.database)?sslmode=disable"

        let first = try await Self.spoolrunner(["migrate", "--store", text])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output.contains("schema version 0 -> \(StoreMigration.latestVersion)"), "\(first.output)")
        let again = try await Self.spoolrunner(["migrate"], environment: ["SPOOLRUNNER_STORE": text])
        #expect(again.status == 0, "\(again.error)")
        #expect(again.output.contains("nothing to do"), "\(again.output)")

        let empty = try await Self.spoolrunner(["runners", "--store", text])
        #expect(empty.status == 0, "\(empty.error)")
        #expect(empty.output.contains("no runners"), "\(empty.output)")

        let store = PostgresStore(url: url, runnerID: "cli-runner", logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            _ = try await store.registerTestRunner()
            group.cancelAll()
        }
        let listed = try await Self.spoolrunner(["runners", "--store", text, "--json"])
        #expect(listed.status == 0, "\(listed.error)")
        let array = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(array?.first?["runner_id"] as? String == "cli-runner")
        #expect(array?.first?["health"] as? String == "healthy")
        let table = try await Self.spoolrunner(["runners", "--store", text])
        #expect(table.output.contains("cli-runner") && table.output.contains("healthy"), "\(table.output)")

        // A schema from a newer spoolrunner: refused with its own exit status, both versions named.
        let admin = PostgresStore(url: url, runnerID: "admin", logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            try await admin.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
            group.cancelAll()
        }
        let tooNew = try await Self.spoolrunner(["migrate", "--store", text])
        #expect(tooNew.status == 76, "\(tooNew.error)")
        #expect(tooNew.error.contains("version 99") && tooNew.error.contains("version \(StoreMigration.latestVersion)"))

        // Bad URLs: usage errors (64) naming the problem, never echoing the password.
        let badScheme = try await Self.spoolrunner(["migrate", "--store", "mysql://u:hunter2@db/x"])
        #expect(badScheme.status == 64)
        #expect(
            badScheme.error.contains("scheme 'mysql'") && !badScheme.error.contains("hunter2"), "\(badScheme.error)")
        let missing = try await Self.spoolrunner(["runners"], environment: ["SPOOLRUNNER_STORE": ""])
        #expect(missing.status == 64)
        #expect(missing.error.contains("--store URL"), "\(missing.error)")

        // An unreachable server: 74, the URL redacted.
        let closed = try await Self.spoolrunner(
            ["runners", "--store", "postgres://spoolrunner:hunter2@127.0.0.1:1/x?sslmode=disable"], timeout: 60)
        #expect(closed.status == 74, "\(closed.error)")
        #expect(closed.error.contains("postgres://spoolrunner:***@127.0.0.1:1/x"), "\(closed.error)")
        #expect(!closed.error.contains("hunter2"))
    }

    static func port(_ url: StoreURL) -> Int {
        if case .tcp(_, let port) = url.endpoint { return port }
        return StoreURL.defaultPort
    }

    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs the built `spoolrunner` binary, as a user would.
    /// `directory`: the working directory (a directory with no spool, to show a command needs none).
    ///
    /// The wait runs on a thread of its own, not on Swift's cooperative pool: a blocked pool thread
    /// (two on this machine) starves every other test's tasks, a lease keeper's renewals included.
    static func spoolrunner(
        _ arguments: [String], environment: [String: String] = [:], timeout: Double = 60, directory: String? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result {
                        try runBlocking(arguments, environment: environment, timeout: timeout, directory: directory)
                    })
            }
        }
    }

    private static func runBlocking(
        _ arguments: [String], environment: [String: String], timeout: Double, directory: String?
    ) throws -> Result {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundle.appendingPathComponent("spoolrunner").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("spoolrunner").path,
        ]
        let binary = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
        let out = NSTemporaryDirectory() + "pg-cli-out-\(UUID().uuidString)"
        let err = NSTemporaryDirectory() + "pg-cli-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for name in ["SPOOLRUNNER_STORE", "SPOOLRUNNER_DB", "SPOOLRUNNER_SPOOL"] { env[name] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            error: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}
