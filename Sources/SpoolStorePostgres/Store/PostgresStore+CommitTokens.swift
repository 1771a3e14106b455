import Foundation
import PostgresNIO
import SpoolRunner

/// Pruning `commit_tokens` (migration 4): the leader's maintenance and `prune` delete the tokens
/// no retry can need any more.
extension PostgresStore {
    /// How long the newest token of a writer whose incarnation is no longer alive is kept.
    ///
    /// Only a runner process that sent that batch, lost the answer and has not completed one
    /// call to the database since would ever send it again: one cut off from the database for
    /// this long (its lease ran out after a few seconds of that). A day rides out any outage a
    /// runner could come back from; a retry even later would write that batch's rejection rows
    /// and counters a second time (its processes, tasks and events are fenced off already: the
    /// incarnation is over). The rows are small: one per runner process started.
    public static let commitTokenRetention: Duration = .seconds(86_400)

    /// How often the leader's reaper prunes the tokens: a scan of a small table, not every pass.
    static let commitTokenPruneInterval: Duration = .seconds(60)

    /// Deletes the commit tokens no retry can need (see `CommitLog`):
    /// - every token of a writer older than its newest: a writer (one runner process) sends its
    ///   next batch only once the last one was answered, and only ever sends again the one batch
    ///   left unanswered, so a token with a newer one of the same writer is never asked for;
    /// - the newest token of a writer, once the incarnation it was sent under is no longer alive
    ///   (stopped, dead, or followed by another) and it is older than `retention`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func pruneCommitTokens(retention: Duration = commitTokenRetention) async throws(StoreError) -> Int {
        let seconds = Double(retention.components.seconds) + Double(retention.components.attoseconds) / 1e18
        return try await storeCall("prune the commit tokens") { [self] in
            let rows = try await client.query(
                """
                WITH newest AS (
                  SELECT runner_id, writer, max(seq) AS seq FROM commit_tokens GROUP BY runner_id, writer),
                gone AS (
                  DELETE FROM commit_tokens t USING newest n
                   WHERE t.runner_id = n.runner_id AND t.writer = n.writer
                     AND (t.seq < n.seq
                          OR (t.committed_at < now() - make_interval(secs => \(seconds))
                              AND NOT EXISTS (SELECT 1 FROM runners r
                                               WHERE r.runner_id = t.runner_id AND r.incarnation = t.incarnation
                                                 AND r.state = 'alive')))
                  RETURNING 1)
                SELECT count(*)::int8 FROM gone
                """, logger: logger)
            var deleted: Int64 = 0
            for try await count in rows.decode(Int64.self) { deleted = count }
            return Int(deleted)
        }
    }

    /// `pruneCommitTokens()` at most once per `commitTokenPruneInterval`: the leader's reaper
    /// calls it on every pass. A failure is logged and tried again on a later pass.
    func pruneCommitTokensWhenDue() async {
        let now = ContinuousClock.now
        let due = tokenPruneDue.withLock { next in
            guard next.map({ now >= $0 }) ?? true else { return false }
            next = now.advanced(by: Self.commitTokenPruneInterval)
            return true
        }
        guard due else { return }
        do {
            let deleted = try await pruneCommitTokens()
            if deleted > 0 { logger.debug("pruned \(deleted) commit token(s) no retry can need") }
        } catch {
            logger.warning("cannot prune the commit tokens; trying again later: \(error)")
        }
    }
}
