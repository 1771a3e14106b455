import Foundation
import Logging
import PostgresNIO
import ProcessDefinitions
import SpoolRunner
import SpoolStore

/// The fleet's coordination on PostgreSQL (SPEC §9): claims with `SKIP LOCKED` under this
/// runner's lease, the lease kept by `LeaseKeeper`, leadership by advisory lock, work
/// notifications by LISTEN, releases with NOTIFY, and the reaper with the shared recovery rule.
extension PostgresStore: StoreCoordination {
    public var sharesWork: Bool { true }

    /// Registers this runner (a new incarnation, see `register`) and has the first claim take
    /// back what its runner id still owns: at once, since registration succeeds only when the
    /// previous incarnation is gone from this machine (the same-host fast path), expired, dead
    /// or stopped.
    public func join(_ identity: RunnerIdentity, lease duration: Duration) async throws -> Registration {
        let registration = try await register(identity, lease: duration)
        membership.state.withLock { state in
            state.identity = identity
            state.leaseDuration = duration
            state.adoptPending = registration.previous != nil
            state.adoptFromDeadIncarnation = registration.previous.map { $0.state != "stopped" } ?? false
        }
        return registration
    }

    public func claim(limit: Int, concurrency: [String: Int]) async throws(StoreError) -> [ClaimedWork] {
        guard let lease = held.withLock({ $0.lease }) else { return [] }
        let (adopt, fromDead) = membership.state.withLock { state in
            defer { state.adoptPending = false }
            return (state.adoptPending, state.adoptFromDeadIncarnation)
        }
        var work: [ClaimedWork] = []
        if adopt {
            // What a previous incarnation held, fenced anew (epoch + 1), its tasks as it left them.
            work += try await unfinishedProcesses().map { ClaimedWork(process: $0, fromDeadIncarnation: fromDead) }
        }
        let free = limit - work.count
        // Unowned work comes with its state, definition and subscription in one statement.
        var claimed: [ClaimedWork] = []
        if free > 0 {
            claimed = try await storeCall("claim work") { [self] in
                try await claimWork(limit: free, lease: lease, typeLimits: concurrency)
            }
        }
        guard !work.isEmpty else { return remember(claimed) }
        let (definitions, subscribed) = try await storeCall("read the definitions of claimed processes") {
            [self, work] in
            try await storedDefinitions(of: work.map(\.process.record.processID))
        }
        return remember(
            work.map { item in
                var item = item
                item.definition = definitions[item.process.record.processID]
                item.subscribed = subscribed.contains(item.process.record.processID)
                return item
            } + claimed)
    }

    /// Notes which of `work` this runner does not subscribe to (see `HeldProcesses.unsubscribed`).
    private func remember(_ work: [ClaimedWork]) -> [ClaimedWork] {
        held.withLock { held in
            for item in work {
                if item.subscribed {
                    held.unsubscribed.remove(item.process.record.processID)
                } else {
                    held.unsubscribed.insert(item.process.record.processID)
                }
            }
        }
        return work
    }

    /// The definition each process was accepted with, parsed from its stored YAML (named
    /// `store:<type>@<sha8>` in errors), and the processes this runner subscribes to. A process
    /// whose stored definition does not load is left out (the runner's own definition of its
    /// type is used, and the error logged).
    private func storedDefinitions(of ids: [String]) async throws -> ([String: ProcessDefinition], Set<String>) {
        let me = runnerID
        let rows = try await client.query(
            """
            SELECT p.process_id, p.process_type, d.sha256, d.yaml,
                   EXISTS (SELECT 1 FROM subscriptions s WHERE s.process_id = p.process_id AND s.runner_id = \(me))
              FROM processes p JOIN definitions d ON d.sha256 = p.definition_sha256
             WHERE p.process_id = ANY(\(ids)::text[])
            """, logger: logger)
        var result: [String: ProcessDefinition] = [:]
        var subscribed: Set<String> = []
        for try await (id, type, sha, yaml, subscriber) in rows.decode((String, String, Data, String, Bool).self) {
            if subscriber { subscribed.insert(id) }
            result[id] = storedDefinition(of: id, type: type, sha: sha, yaml: yaml)
        }
        return (result, subscribed)
    }

    /// The definition with hash `sha`: parsed before (cached by hash), else parsed from `yaml`
    /// (nil: not sent, since it was cached when asked for) and cached. nil when it does not
    /// load, with the error logged.
    func storedDefinition(of id: String, type: String, sha: Data, yaml: String?) -> ProcessDefinition? {
        if let cached = membership.state.withLock({ $0.definitions[sha] }) { return cached }
        guard let yaml else { return nil }
        let sha8 = sha.prefix(4).map { String(format: "%02x", $0) }.joined()
        switch DefinitionLoader.parse(yaml: yaml, file: "store:\(type)@\(sha8)/\(type).yaml", baseDirectory: "/") {
        case .success(let definition):
            membership.state.withLock { $0.definitions[sha] = definition }
            return definition
        case .failure(let errors):
            logger.error("process \(id): its stored definition does not load; using this runner's: \(errors)")
            return nil
        }
    }

    public func keepLease(
        runningTasks: @escaping @Sendable () async -> Int, renewed: @escaping @Sendable (LeaseState) async -> Void
    ) async -> LeaseEnd {
        guard let lease = held.withLock({ $0.lease }) else { return .lost }
        let end = await LeaseKeeper(store: self, logger: logger).run(lease, runningTasks: runningTasks) { next in
            await renewed(LeaseState(runnerID: next.runnerID, expiresAt: next.expiresAt))
        }
        switch end {
        case .cancelled: return .cancelled
        case .leaseLost: return .lost
        case .deadlinePassed: return .deadlinePassed
        }
    }

    public func renewIncarnation() async throws(StoreError) -> LeaseState {
        guard
            let (identity, duration) = membership.state.withLock({ state in
                state.identity.map { ($0, state.leaseDuration) }
            })
        else {
            throw notRegistered("register again")
        }
        // Within one lease, or given up and tried again by the caller (see `storeCall`).
        let registration = try await storeCall("register runner \(identity.runnerID) again", limit: duration) {
            [self] in
            try await register(identity, lease: duration, afterFence: true)
        }
        membership.state.withLock { state in
            // What the fenced incarnation held comes back with the next claim; its tasks were
            // stopped here, so their interruption is not a crash.
            state.adoptPending = true
            state.adoptFromDeadIncarnation = false
        }
        return LeaseState(runnerID: registration.lease.runnerID, expiresAt: registration.lease.expiresAt)
    }

    public func leadership() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream<Bool>.makeStream()
        guard let session = controlSession() else {
            continuation.finish()
            return stream
        }
        session.attachLeadership(continuation)
        return stream
    }

    /// `spoolrunner_work` notifications (work, cancels) and this runner's status channel, on
    /// the control connection that also holds the leader lock (`ControlSession`); each
    /// (re)connection is announced as `.resynchronize`, since notifications may have been
    /// missed meanwhile. Without LISTEN (`--notify off`) the sequence ends at once.
    public func changes() -> AsyncStream<StoreChange> {
        let (stream, continuation) = AsyncStream<StoreChange>.makeStream(bufferingPolicy: .bufferingNewest(64))
        guard membership.state.withLock({ $0.listens }), let session = controlSession() else {
            continuation.finish()
            return stream
        }
        session.attachChanges(continuation)
        return stream
    }

    /// The one control session of this store, made on first use.
    private func controlSession() -> ControlSession? {
        control.withLock { session in
            if let session { return session }
            do {
                let made = ControlSession(
                    election: try LeaderElection(url: url, runnerID: runnerID, logger: logger),
                    listens: membership.state.withLock { $0.listens }, statusChannel: Self.statusChannel(for: runnerID))
                session = made
                return made
            } catch {
                logger.error("cannot open the store's control connection: \(error)")
                return nil
            }
        }
    }

    /// The channel a runner hears about status changes of the processes it subscribes to
    /// (`spoolrunner_s_` + 16 hex digits of the 64-bit FNV-1a hash of its runner id: any
    /// runner id gives a valid, short channel name, the same on every host).
    public static func statusChannel(for runnerID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in runnerID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "spoolrunner_s_" + String(format: "%016llx", hash)
    }

    /// The channel unowned work is announced on, and cancels asked on another host
    /// (`cancel:<process id>`: every runner listens there already, so no channel per runner).
    static let workChannel = "spoolrunner_work"
    static let cancelPrefix = "cancel:"

    public func claim(_ processID: String) async throws(StoreError) -> ClaimedWork? {
        guard let lease = held.withLock({ $0.lease }) else { throw notRegistered("take process \(processID)") }
        let me = runnerID
        let epoch: Int64? = try await storeCall("take process \(processID)") { [self] in
            let rows = try await client.query(
                """
                UPDATE processes SET owner_runner = \(me), lease_epoch = lease_epoch + 1,
                       -- a cancel asked before it ended is not a cancel of its retry
                       cancel_requested_at = CASE WHEN status IN ('pending', 'running') THEN cancel_requested_at END
                 WHERE process_id = \(processID) AND owner_runner IS NULL
                   AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                                 AND state = 'alive' AND expires_at > now())
                RETURNING lease_epoch
                """, logger: logger)
            var epoch: Int64?
            for try await value in rows.decode(Int64.self) { epoch = value }
            return epoch
        }
        guard let epoch else { return nil }
        held.withLock { $0.epochs[processID] = epoch }
        guard let stored = try await snapshot(processID) else { return nil }
        let (definitions, subscribed) = try await storeCall("read the definition of process \(processID)") { [self] in
            try await storedDefinitions(of: [processID])
        }
        return remember([
            ClaimedWork(
                process: stored, definition: definitions[processID], subscribed: subscribed.contains(processID))
        ])[0]
    }

    public func requestCancel(_ processID: String) async throws(StoreError) {
        try await storeCall("ask for the cancel of \(processID)") { [self] in
            try await transaction("asking for the cancel of \(processID)") { connection in
                try await connection.query(
                    """
                    UPDATE processes SET cancel_requested_at = now()
                     WHERE process_id = \(processID) AND status IN ('pending', 'running')
                    """, logger: logger)
                try await connection.query(
                    "SELECT pg_notify(\(Self.workChannel), \(Self.cancelPrefix + processID))", logger: logger)
            }
        }
    }

    public func subscribe(to processIDs: [String]) async throws(StoreError) {
        guard !processIDs.isEmpty else { return }
        let me = runnerID
        try await storeCall("subscribe to \(processIDs.count) process(es)") { [self] in
            try await client.query(
                """
                INSERT INTO subscriptions (runner_id, process_id)
                SELECT \(me), process_id FROM processes WHERE process_id = ANY(\(processIDs)::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        held.withLock { $0.unsubscribed.subtract(processIDs) }
    }

    public func release(_ processIDs: [String]) async throws(StoreError) {
        guard !processIDs.isEmpty else { return }
        let me = runnerID
        held.withLock { held in
            for id in processIDs { held.epochs.removeValue(forKey: id) }
        }
        // One statement in autocommit; the work notification follows it (`hints`), so this
        // commit does not hold NOTIFY's lock through its flush.
        try await storeCall("hand \(processIDs.count) process(es) to the fleet") { [self] in
            do {
                try await client.query(
                    """
                    UPDATE processes SET owner_runner = NULL, lease_epoch = lease_epoch + 1
                     WHERE process_id = ANY(\(processIDs)::text[]) AND owner_runner = \(me)
                    """, logger: logger)
            } catch {
                throw PostgresStoreError.wrap(error, "handing \(processIDs.count) process(es) to the fleet")
            }
        }
        if notifies { hints.workAvailable() }
    }

    public func leave() async throws(StoreError) {
        guard let lease = held.withLock({ $0.lease }) else { return }
        try await storeCall("hand over the unfinished processes and stop") { [self] in
            _ = try await release(lease)
        }
    }

    /// The leader's maintenance, every lease/3: the reaper, and now and then the commit tokens.
    public func reapExpiredRunners() async throws(StoreError) -> [String] {
        let now = Date()
        let taken = try await storeCall("take over the processes of dead runners") { [self] in
            try await reapExpiredRunners(at: Timestamp.string(now)) { input in
                try EngineRecovery.recover(input, at: now)
            }.takenOver
        }
        await pruneCommitTokensWhenDue()
        return taken
    }
}
