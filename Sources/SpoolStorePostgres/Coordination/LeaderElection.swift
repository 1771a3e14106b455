import Logging
import PostgresNIO

/// One leader per fleet: the runner whose control connection holds the session advisory lock.
///
/// The lock lives as long as the session, so leadership ends the moment the connection does: a
/// dead leader's lock is freed when the server notices (TCP keepalives: seconds, not hours), and
/// a leader whose connection is cut knows at once. Correctness never depends on there being
/// exactly one leader (primary keys and fencing tokens decide); the lock only avoids doing the
/// leader's work many times. Not usable through PgBouncer in transaction mode.
public struct LeaderElection: Sendable {
    let configuration: PostgresConnection.Configuration
    let key: Int64
    let retryInterval: Duration
    let logger: Logger

    /// - Parameter retryInterval: how often a follower tries the lock, and waits before
    ///   reconnecting (River re-elects every 5 s).
    public init(url: StoreURL, runnerID: String, retryInterval: Duration = .seconds(5), logger: Logger) throws {
        self.configuration = try url.connectionConfiguration(applicationName: "spoolrunner/\(runnerID)/control")
        self.key = AdvisoryKey.leader(schema: url.schema)
        self.retryInterval = retryInterval
        self.logger = logger
    }

    /// Runs until the calling task is cancelled, calling `onChange` with `true` when this runner
    /// becomes the leader and `false` when it stops being one (also at cancellation).
    public func run(_ onChange: @Sendable (Bool) async -> Void) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: attempt, logger: logger)
                let led = await hold(connection, onChange)
                try? await connection.close()
                if led { await onChange(false) }
            } catch {
                logger.warning(
                    "store control connection failed", metadata: ["error": "\(PostgresStoreError.explain(error))"])
            }
            try? await Task.sleep(for: retryInterval)
        }
    }

    /// Tries the lock every `retryInterval` on `connection`; once held, waits for the connection
    /// to close or the task to be cancelled. Returns whether it led.
    private func hold(_ connection: PostgresConnection, _ onChange: @Sendable (Bool) async -> Void) async -> Bool {
        while !Task.isCancelled, !connection.isClosed {
            var acquired = false
            do {
                let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                for try await value in rows.decode(Bool.self) { acquired = value }
            } catch {
                logger.warning(
                    "store leader lock query failed", metadata: ["error": "\(PostgresStoreError.explain(error))"])
                return false
            }
            if acquired {
                logger.info("became the leader")
                await onChange(true)
                let closed = connection.closeFuture
                await withTaskCancellationHandler {
                    _ = try? await closed.get()
                } onCancel: {
                    let _: EventLoopFuture<Void> = connection.close()
                }
                logger.info("no longer the leader")
                return true
            }
            try? await Task.sleep(for: retryInterval)
        }
        return false
    }
}
