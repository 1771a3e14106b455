import Foundation
import PostgresNIO

extension PostgresStore {
    /// Takes up to `limit` unowned unfinished processes, oldest first, for this runner: each is
    /// claimed by exactly one runner however many claim at once (`FOR UPDATE SKIP LOCKED`), and
    /// its fencing token is bumped. Nothing is claimed once this incarnation's lease is over.
    ///
    /// `limit` is the runner's free task slots: work claimed but not started would be stuck
    /// behind the lease if the runner died.
    public func claim(limit: Int, lease: Lease) async throws -> [ClaimedProcess] {
        guard limit > 0 else { return [] }
        let me = runnerID
        do {
            // The CTE stays MATERIALIZED on purpose (Oban's optimization fence): the row locks are
            // taken in the subquery, LIMIT applied, before the UPDATE. PostgreSQL 15 keeps it
            // anyway; saying so keeps it whatever the planner does later.
            let rows = try await client.query(
                """
                WITH c AS MATERIALIZED (
                  SELECT process_id FROM processes
                   WHERE owner_runner IS NULL AND status IN ('pending', 'running')
                     AND EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me) AND incarnation = \(lease.incarnation)
                                   AND state = 'alive' AND expires_at > now())
                   ORDER BY created_at, process_id
                   LIMIT \(limit)
                   FOR UPDATE SKIP LOCKED)
                UPDATE processes p SET owner_runner = \(me), lease_epoch = p.lease_epoch + 1
                  FROM c WHERE p.process_id = c.process_id
                RETURNING p.process_id, p.process_type, p.status, p.lease_epoch, p.request_json,
                          p.definition_sha256, p.crash_count, p.takeovers, p.created_at
                """, logger: logger)
            var claimed: [ClaimedProcess] = []
            for try await (id, type, status, epoch, request, definition, crashes, takeovers, created) in rows.decode(
                (String, String, String, Int64, String, Data, Int32, Int32, Date).self)
            {
                claimed.append(
                    ClaimedProcess(
                        processID: id, processType: type, status: status, leaseEpoch: epoch, requestJSON: request,
                        definitionSHA256: definition, crashCount: Int(crashes), takeovers: Int(takeovers),
                        createdAt: created))
            }
            return claimed.sorted { ($0.createdAt, $0.processID) < ($1.createdAt, $1.processID) }
        } catch {
            throw PostgresStoreError.wrap(error, "claiming processes for runner \(me)")
        }
    }
}
