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

    /// Ends the session that holds the leader's lock when its runner's lease is over (expired
    /// more than 2 s ago, or the runner is dead or stopped): a frozen leader (SIGSTOP, a stuck
    /// process) keeps its session, and its lock, while its host's kernel still answers, and the
    /// fleet would have no reaper. The lock is freed with the session; the next try takes it.
    /// Needs the runners to share one database role (or `pg_signal_backend`).
    private func endStaleLeadership(on connection: PostgresConnection) async {
        let high = Int64(UInt64(bitPattern: key) >> 32)
        let low = Int64(UInt64(bitPattern: key) & 0xFFFF_FFFF)
        do {
            let rows = try await connection.query(
                """
                SELECT r.runner_id, pg_terminate_backend(a.pid)
                  FROM pg_locks l
                  JOIN pg_stat_activity a ON a.pid = l.pid
                  JOIN runners r ON a.application_name = 'spoolrunner/' || r.runner_id || '/control'
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid::int8 = \(high) AND l.objid::int8 = \(low)
                   AND (r.state <> 'alive' OR r.expires_at < now() - interval '2 seconds')
                """, logger: logger)
            for try await (runner, ended) in rows.decode((String, Bool).self) where ended {
                logger.notice("ended the session of leader \(runner), whose lease is over")
            }
        } catch {
            logger.debug(
                "could not check the leader's lease", metadata: ["error": "\(PostgresStoreError.explain(error))"])
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
            await endStaleLeadership(on: connection)
            try? await Task.sleep(for: retryInterval)
        }
        return false
    }
}
