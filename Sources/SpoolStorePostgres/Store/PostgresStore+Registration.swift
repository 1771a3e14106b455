import Foundation
import PostgresNIO

extension PostgresStore {
    /// A new incarnation of this runner, and what the row said before.
    public struct Registration: Sendable {
        public var lease: Lease
        public var previous: PreviousIncarnation?
    }

    /// Registers a new incarnation of `identity.runnerID` (`INSERT … ON CONFLICT DO UPDATE`,
    /// incarnation + 1) with a lease of `duration` on the database clock.
    ///
    /// The store's writes go under the new lease from now on; the processes the previous
    /// incarnation held are forgotten (the runner fenced itself and dropped them; what it still
    /// owns in the store comes back through `unfinishedProcesses()`).
    ///
    /// - Throws: `.runnerIDInUse` naming the host and the expiry when the row is alive, unexpired
    ///   and from another machine (or from this machine and its process still runs).
    /// - Parameter afterFence: this process registers again after it fenced itself: its own
    ///   previous incarnation (same machine, boot, pid and start time) does not stand in the way.
    public func register(_ identity: RunnerIdentity, lease duration: Duration, afterFence: Bool = false) async throws
        -> Registration
    {
        let registration = try await insertRegistration(identity, lease: duration, afterFence: afterFence)
        held.withLock { held in
            // Incarnations only move forward: an attempt given up on (`withDeadline`) that
            // completes after a newer one must not take the store back to its incarnation.
            guard (held.lease?.incarnation ?? .min) < registration.lease.incarnation else { return }
            held.lease = registration.lease
            held.machineID = identity.machineID
            held.epochs.removeAll()
        }
        return registration
    }

    private func insertRegistration(_ identity: RunnerIdentity, lease duration: Duration, afterFence: Bool)
        async throws
        -> Registration
    {
        let seconds = Lease(
            runnerID: "", incarnation: 0, duration: duration, expiresAt: Date(), renewedAt: ContinuousClock.now
        ).seconds
        let definitions = String(
            decoding: try JSONEncoder.sorted.encode(identity.definitions), as: UTF8.self)
        return try await transaction("registering runner \(identity.runnerID)") { connection in
            let rows = try await connection.query(
                """
                SELECT incarnation, machine_id, boot_id, hostname, pid, pid_start_ticks, state, expires_at,
                       expires_at <= now()
                  FROM runners WHERE runner_id = \(identity.runnerID) FOR UPDATE
                """, logger: logger)
            var previous: PreviousIncarnation?
            for try await (incarnation, machine, boot, host, pid, ticks, state, expires, expired) in rows.decode(
                (Int64, String, String, String, Int32, Int64?, String, Date, Bool).self)
            {
                previous = PreviousIncarnation(
                    incarnation: incarnation, machineID: machine, bootID: boot, hostname: host, pid: pid,
                    pidStartTicks: ticks, state: state, expiresAt: expires, expired: expired)
            }
            // This very process registering again after it fenced itself (its tasks are stopped,
            // its processes dropped): its own previous incarnation does not stand in the way.
            if let previous, previous.state == "alive", !previous.expired,
                !(afterFence && previous.isSameProcess(as: identity)),
                !previous.ranHere(identity) || !previous.isGone(from: identity)
            {
                throw PostgresStoreError(
                    .runnerIDInUse,
                    "runner id '\(identity.runnerID)' is in use by a live runner on host \(previous.hostname) (pid \(previous.pid)), whose lease expires at \(Self.isoString(previous.expiresAt)): give this runner another --runner-id, or stop that one"
                )
            }
            // The deadline counts from here, and the expiry from the statement's own clock, not
            // the transaction's start: time spent waiting for a pooled connection (the pool
            // reconnecting after a network split) must not make the new lease end before it
            // begins here (it fenced the runner again at once, and its re-registration was
            // then refused by its own incarnation until that expired).
            let sent = ContinuousClock.now
            let result = try await connection.query(
                """
                INSERT INTO runners (runner_id, machine_id, boot_id, hostname, spool, pid, pid_start_ticks, version,
                                     incarnation, started_at, heartbeat_at, expires_at, state, max_tasks,
                                     running_tasks, definitions)
                VALUES (\(identity.runnerID), \(identity.machineID), \(identity.bootID), \(identity.hostname),
                        \(identity.spool), \(identity.pid), \(identity.pidStartTicks), \(identity.version), 1, now(),
                        now(), clock_timestamp() + make_interval(secs => \(seconds)), 'alive', \(identity.maxTasks), 0,
                        \(definitions)::jsonb)
                ON CONFLICT (runner_id) DO UPDATE SET
                    machine_id = EXCLUDED.machine_id, boot_id = EXCLUDED.boot_id, hostname = EXCLUDED.hostname,
                    spool = EXCLUDED.spool, pid = EXCLUDED.pid, pid_start_ticks = EXCLUDED.pid_start_ticks,
                    version = EXCLUDED.version, incarnation = runners.incarnation + 1,
                    started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
                    expires_at = EXCLUDED.expires_at, state = 'alive', max_tasks = EXCLUDED.max_tasks,
                    running_tasks = 0, definitions = EXCLUDED.definitions
                RETURNING incarnation, expires_at
                """, logger: logger)
            var lease: Lease?
            for try await (incarnation, expires) in result.decode((Int64, Date).self) {
                lease = Lease(
                    runnerID: identity.runnerID, incarnation: incarnation, duration: duration, expiresAt: expires,
                    renewedAt: sent)
            }
            guard let lease else {
                throw PostgresStoreError(.database, "registering runner \(identity.runnerID) returned no row")
            }
            return Registration(lease: lease, previous: previous)
        }
    }

    /// Extends the lease by its duration from now (database clock).
    ///
    /// - Throws: `.leaseLost` when no row was updated: the lease expired, or a newer incarnation
    ///   or the reaper took the row. This incarnation is over: self-fence, then register again.
    public func renew(_ lease: Lease, runningTasks: Int = 0) async throws -> Lease {
        let sent = ContinuousClock.now
        let rows: PostgresRowSequence
        do {
            rows = try await client.query(
                """
                UPDATE runners SET heartbeat_at = now(), expires_at = now() + make_interval(secs => \(lease.seconds)),
                       running_tasks = \(runningTasks)
                 WHERE runner_id = \(lease.runnerID) AND incarnation = \(lease.incarnation) AND state = 'alive'
                   AND expires_at > now()
                RETURNING expires_at
                """, logger: logger)
            for try await expires in rows.decode(Date.self) {
                var renewed = lease
                renewed.expiresAt = expires
                renewed.renewedAt = sent
                held.withLock { held in
                    if held.lease?.incarnation == renewed.incarnation { held.lease = renewed }
                }
                return renewed
            }
        } catch {
            throw PostgresStoreError.wrap(error, "renewing the lease of runner \(lease.runnerID)")
        }
        throw PostgresStoreError(
            .leaseLost,
            "the lease of runner \(lease.runnerID) (incarnation \(lease.incarnation)) is over: it expired or was taken over"
        )
    }

    static func isoString(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

extension JSONEncoder {
    /// Keys sorted, so the same value always gives the same bytes.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
