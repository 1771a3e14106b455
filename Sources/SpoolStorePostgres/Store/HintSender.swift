import Logging
import PostgresNIO
import Synchronization

/// Sends the fleet's notifications (SPEC §9: hints only) after the writes they are about, each
/// in a short transaction of its own that commits asynchronously (`synchronous_commit = off`).
///
/// PostgreSQL serializes every committing transaction that NOTIFYs: `PreCommit_Notify` takes a
/// lock on "database 0" and holds it until the commit is done, WAL flush included. A batch
/// commit that notified therefore held every other runner's notifying commit back for its whole
/// flush, and no two of them could share a flush. Sent here instead, a notification's
/// transaction writes no data and does not wait for its flush, so it holds that lock only for
/// a moment, and the data commits flush together. A notification lost meanwhile (a crash
/// between the commit and this) is what reconciliation and the claim poll are there for.
///
/// Coalesced: a status change waits `gathering` for the commits right behind it, and what
/// comes in while one is being sent goes with the next, so a runner has at most one of these
/// in flight and sends one for several commits under load (each costs both ends a statement).
final class HintSender: Sendable {
    /// How long a status change waits for others to go with it. The subscriber's status file
    /// follows the store that much later at most; work hints do not wait (a free runner claims).
    static let gathering: Duration = .milliseconds(20)

    private struct Pending {
        /// Processes whose state changed: their subscribers other than this runner are told.
        var statusChanged: Set<String> = []
        /// Unowned work was written: every runner is told.
        var work = false

        var isEmpty: Bool { statusChanged.isEmpty && !work }
    }

    private let pending = Mutex(Pending())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The subscribers of `processIDs` other than this runner rewrite their status files.
    func statusChanged(_ processIDs: some Collection<String>) {
        guard !processIDs.isEmpty else { return }
        pending.withLock { $0.statusChanged.formUnion(processIDs) }
        wake.yield()
    }

    /// Unowned work is waiting: the runners with free slots claim it now, not at their next poll.
    func workAvailable() {
        pending.withLock { $0.work = true }
        wake.yield()
    }

    /// Sends what is pending, on `client`'s pool, until the calling task is cancelled. A
    /// failure is logged and dropped: these are hints.
    func run(client: PostgresClient, runnerID: String, logger: Logger) async {
        for await _ in wakeups {
            if !pending.withLock({ $0.work }) { try? await Task.sleep(for: Self.gathering) }
            while true {
                let next = pending.withLock { state in
                    defer { state = Pending() }
                    return state
                }
                if next.isEmpty { break }
                do {
                    try await send(next, client: client, runnerID: runnerID, logger: logger)
                } catch {
                    logger.debug("a notification to the fleet was not sent (reconciliation covers it): \(error)")
                }
            }
        }
    }

    private func send(_ hints: Pending, client: PostgresClient, runnerID: String, logger: Logger) async throws {
        if hints.work {
            try await client.query(
                """
                SELECT set_config('synchronous_commit', 'off', true), pg_notify(\(PostgresStore.workChannel), '')
                """, logger: logger)
        }
        guard !hints.statusChanged.isEmpty else { return }
        let ids = Array(hints.statusChanged)
        // One notification per subscribing runner on its status channel, the ids joined by
        // spaces and split so that no payload exceeds 7,900 bytes: a part ends within 7,771
        // bytes of running length, and an id is at most 128 bytes.
        try await client.query(
            """
            WITH off AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
                 s AS (SELECT runner_id, process_id,
                              sum(octet_length(process_id) + 1)
                                OVER (PARTITION BY runner_id ORDER BY process_id) AS upto
                         FROM subscriptions WHERE process_id = ANY(\(ids)::text[]) AND runner_id <> \(runnerID))
            SELECT pg_notify(spoolrunner_status_channel(s.runner_id),
                             string_agg(s.process_id, ' ' ORDER BY s.process_id))
              FROM s, off GROUP BY s.runner_id, (s.upto - 1) / 7771
            """, logger: logger)
    }
}
