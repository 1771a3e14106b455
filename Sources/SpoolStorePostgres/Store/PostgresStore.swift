import Logging
import PostgresNIO
import Synchronization

/// The shared store of a fleet of runners (SPEC §9): one PostgreSQL database, reached through a
/// connection pool.
///
/// Owns every SQL statement of the PostgreSQL backend, the way `SQLiteStore` owns SQLite's. Its
/// pool (`PostgresClient`) must be running (`run()`, in the daemon's `ServiceGroup` or a task
/// group) before any operation leases a connection. Leadership lives on a connection of its
/// own (`LeaderElection`), since a session advisory lock must not ride on a pooled session.
public final class PostgresStore: Sendable {
    public let url: StoreURL
    public let runnerID: String
    /// The pool, made on first use: a store made by `connect(url:runnerID:logger:)` for a read
    /// command never uses one, and making it costs that command ~0.4 ms of CPU (P6 times them).
    public var client: PostgresClient {
        pool.withLock { pool in
            if let pool { return pool }
            let made = PostgresClient(
                configuration: url.clientConfiguration(
                    applicationName: "spoolrunner/\(runnerID)", maximumConnections: poolSize),
                backgroundLogger: logger)
            pool = made
            return made
        }
    }
    private let pool = Mutex<PostgresClient?>(nil)
    private let poolSize: Int
    /// The fleet side of this runner: who it registered as, what its next claim takes back.
    public let membership = FleetMembership()
    let logger: Logger
    /// The lease and the fencing tokens this runner's writes carry (see `HeldProcesses`).
    let held = Mutex(HeldProcesses())
    /// The tokens of this store's batch commits, and a batch whose answer was lost.
    let commitLog = Mutex(CommitLog())
    /// When the leader's reaper prunes `commit_tokens` next (`pruneCommitTokensWhenDue`).
    let tokenPruneDue = Mutex<ContinuousClock.Instant?>(nil)
    /// How long a write waits for a row lock (`lock_timeout`) before it fails as busy; nil: the
    /// server's default, bounded by `statement_timeout`.
    let lockTimeout = Mutex<Double?>(nil)
    /// The notifications sent after the writes they are about (see `HintSender`).
    let hints = HintSender()
    /// The control connection (leader lock and LISTEN), made by the first `leadership()` or
    /// `changes()`.
    let control = Mutex<ControlSession?>(nil)
    /// The one connection the reads (`StoreReader`) run on instead of the pool: a store made by
    /// `connect(url:runnerID:logger:)` for a CLI command. nil: the pool.
    let session: PostgresConnection?

    /// - Parameters:
    ///   - poolSize: the pool's maximum number of sessions (`--store-pool`, default 4).
    public convenience init(url: StoreURL, runnerID: String, poolSize: Int = 4, logger: Logger) {
        self.init(url: url, runnerID: runnerID, poolSize: poolSize, logger: logger, session: nil)
    }

    private init(url: StoreURL, runnerID: String, poolSize: Int, logger: Logger, session: PostgresConnection?) {
        self.url = url
        self.runnerID = runnerID
        self.logger = logger
        self.session = session
        self.poolSize = poolSize
    }

    /// A store whose reads run on one connection made now, for a command that reads and exits
    /// (`history`, `events`, `status` with `--store`). Against `init` + `checkReachable()` + the
    /// pool, that is one connection instead of two: P6 times these commands whole. The connection
    /// failing fails fast as `checkReachable()` does (refused at once, an unanswered host after
    /// postgres-nio's 10 s connect timeout). Writes still go through the pool (`run()` it if any
    /// are made); `close()` the store when done.
    ///
    /// - Throws: `.database` saying the store cannot be reached, with the driver's error.
    public static func connect(url: StoreURL, runnerID: String, logger: Logger) async throws -> PostgresStore {
        let session: PostgresConnection
        do {
            session = try await PostgresConnection.connect(
                configuration: url.connectionConfiguration(applicationName: "spoolrunner/\(runnerID)"), id: 0,
                logger: logger)
        } catch {
            throw PostgresStoreError(.database, "cannot connect to the store", cause: error)
        }
        return PostgresStore(url: url, runnerID: runnerID, poolSize: 1, logger: logger, session: session)
    }

    /// Closes the reads' connection of a store made by `connect(url:runnerID:logger:)`.
    public func close() async {
        try? await session?.close()
    }

    /// Runs the pool, and the sender of notifications, until the calling task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.hints.run(client: self.client, runnerID: self.runnerID, logger: self.logger) }
        }
    }

    /// Whether this runner notifies the fleet (`--notify on`, the default). Off, it neither
    /// listens nor notifies: every runner finds work by its claim poll and status changes by
    /// reconciliation, and no commit takes NOTIFY's lock.
    var notifies: Bool { membership.state.withLock { $0.listens } }

    /// Applies the migrations this build knows (see `StoreMigrator`).
    public func migrate() async throws -> StoreMigrator.Report {
        try await StoreMigrator.migrate(client, schema: url.schema, logger: logger)
    }

    /// Connects once, outside the pool, and closes: the pool retries a server it cannot reach
    /// forever, so a command checks first and fails fast (connection refused at once, an
    /// unanswered host after postgres-nio's 10 s connect timeout).
    ///
    /// - Throws: `.database` saying the store cannot be reached, with the driver's error.
    public func checkReachable() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: url.connectionConfiguration(applicationName: "spoolrunner/\(runnerID)"), id: 0,
                logger: logger)
            try await connection.close()
        } catch {
            throw PostgresStoreError(.database, "cannot connect to the store", cause: error)
        }
    }

    /// The schema version the database is at; nil when it was never migrated.
    public func migrationState() async throws -> Int? {
        try await StoreMigrator.currentVersion(client, logger: logger)
    }

    /// Runs `body` in one transaction; our own errors come out as they were thrown, the driver's
    /// wrapped in a `.database` error saying `what` failed.
    func transaction<Result: Sendable>(
        _ what: String, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch {
            throw PostgresStoreError.wrap(error, what)
        }
    }
}
