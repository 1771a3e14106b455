import Logging
import PostgresNIO
import Synchronization

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

    /// What the control connection listens to besides the leader channel: the runner's one
    /// session carries both the leader lock and LISTEN (SPEC §9: at most 5 connections per
    /// runner, the pool's 4 and this one).
    public struct Listener: Sendable {
        public var channels: [String]
        /// Called once the channels are listened to, after each (re)connection: notifications
        /// may have been missed meanwhile.
        public var onListening: @Sendable () -> Void
        public var onNotification: @Sendable (_ channel: String, _ payload: String) -> Void

        public init(
            channels: [String], onListening: @escaping @Sendable () -> Void,
            onNotification: @escaping @Sendable (_ channel: String, _ payload: String) -> Void
        ) {
            self.channels = channels
            self.onListening = onListening
            self.onNotification = onNotification
        }
    }

    /// The channel a leader that steps down or stops notifies on: followers try the lock at once
    /// instead of at their next round.
    public static let leaderChannel = "spoolrunner_leader"

    /// Runs until the calling task is cancelled, calling `onChange` with `true` when this runner
    /// becomes the leader and `false` when it stops being one (also at cancellation).
    ///
    /// - Parameters:
    ///   - listener: the channels the same connection listens to (nil: no LISTEN at all, the
    ///     `--notify off` case; the lock is then tried every round only).
    ///   - contest: whether to try the lock now (false: only listen; asked before each try).
    public func run(
        listening listener: Listener? = nil, contest: @escaping @Sendable () -> Bool = { true },
        _ onChange: @escaping @Sendable (Bool) async -> Void
    ) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: attempt, logger: logger)
                let led = await session(connection, listener: listener, contest: contest, onChange)
                try? await connection.close()
                if led { await onChange(false) }
            } catch {
                logger.warning(
                    "store control connection failed", metadata: ["error": "\(PostgresStoreError.explain(error))"])
            }
            try? await Task.sleep(for: retryInterval)
        }
    }

    /// One control session: the listens and the lock's rounds on `connection`, until it closes
    /// or the task is cancelled. Returns whether it led.
    private func session(
        _ connection: PostgresConnection, listener: Listener?, contest: @escaping @Sendable () -> Bool,
        _ onChange: @escaping @Sendable (Bool) async -> Void
    ) async -> Bool {
        // A leader's step-down notification wakes the rounds at once.
        let wakeup = Wakeup()
        let logger = self.logger
        return await withTaskGroup(of: Bool.self) { group in
            if let listener {
                let channels = [Self.leaderChannel] + listener.channels
                let listening = Countdown(channels.count)
                for channel in channels {
                    group.addTask {
                        do {
                            // The closure form sends UNLISTEN when it ends or the task is cancelled.
                            try await connection.listen(on: channel) { notifications in
                                if listening.tick() { listener.onListening() }
                                for try await notification in notifications {
                                    if channel == Self.leaderChannel {
                                        wakeup.ring()
                                    } else {
                                        listener.onNotification(channel, notification.payload)
                                    }
                                }
                            }
                        } catch {
                            if !Task.isCancelled {
                                logger.debug(
                                    "store control connection: LISTEN \(channel) ended",
                                    metadata: ["error": "\(PostgresStoreError.explain(error))"])
                            }
                        }
                        return false
                    }
                }
            }
            group.addTask { await hold(connection, wakeup: wakeup, contest: contest, onChange) }
            // The first to end (the connection closed, a LISTEN failed, or the rounds ended)
            // ends the session: leadership never outlives its connection.
            var led = await group.next() ?? false
            // Cancelled: a leader unlocks and notifies before it closes (`hold`); otherwise the
            // session is over, and closing it ends the rest.
            if !Task.isCancelled, !connection.isClosed { try? await connection.close() }
            group.cancelAll()
            while let next = await group.next() { led = led || next }
            return led
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

    /// Tries the lock every `retryInterval` (± 20 % jitter) on `connection`, and at once when a
    /// leader steps down; once held, waits for the connection to close or the task to be
    /// cancelled. A cancelled leader unlocks and notifies `spoolrunner_leader` before it closes,
    /// so a follower takes over without waiting for its next round. Returns whether it led.
    private func hold(
        _ connection: PostgresConnection, wakeup: Wakeup, contest: @Sendable () -> Bool,
        _ onChange: @Sendable (Bool) async -> Void
    ) async -> Bool {
        while !Task.isCancelled, !connection.isClosed {
            var acquired = false
            if contest() {
                do {
                    let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                    for try await value in rows.decode(Bool.self) { acquired = value }
                } catch {
                    logger.warning(
                        "store leader lock query failed", metadata: ["error": "\(PostgresStoreError.explain(error))"])
                    return false
                }
            }
            if acquired {
                logger.info("became the leader")
                await onChange(true)
                let closed = connection.closeFuture
                let key = self.key
                let logger = self.logger
                await withTaskCancellationHandler {
                    _ = try? await closed.get()
                } onCancel: {
                    Task {
                        _ = try? await connection.query(
                            "SELECT pg_advisory_unlock(\(key)), pg_notify(\(Self.leaderChannel), '')", logger: logger)
                        try? await connection.close()
                    }
                }
                logger.info("no longer the leader")
                return true
            }
            if contest() { await endStaleLeadership(on: connection) }
            await nextRound(wakeup)
        }
        return false
    }

    /// Waits for the next round: `retryInterval` ± 20 %, or a step-down notification (seen
    /// within 100 ms).
    private func nextRound(_ wakeup: Wakeup) async {
        let seconds = Double(retryInterval.components.seconds) + Double(retryInterval.components.attoseconds) / 1e18
        let end = ContinuousClock.now + .seconds(seconds * Double.random(in: 0.8...1.2))
        while ContinuousClock.now < end, !Task.isCancelled, !wakeup.take() {
            try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
        }
    }

    /// Counts the channels listened to: the last one makes the session listening.
    final class Countdown: Sendable {
        private let left: Mutex<Int>
        init(_ count: Int) { left = Mutex(count) }
        /// Whether this tick was the last.
        func tick() -> Bool {
            left.withLock { left in
                left -= 1
                return left == 0
            }
        }
    }

    /// A leader's step-down, noticed by the rounds.
    final class Wakeup: Sendable {
        private let rung = Mutex(false)
        func ring() { rung.withLock { $0 = true } }
        /// Whether it rang since the last call.
        func take() -> Bool {
            rung.withLock { rung in
                defer { rung = false }
                return rung
            }
        }
    }
}
