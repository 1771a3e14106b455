import Foundation
import SpoolStorePostgres

/// The store invariants every fleet test checks at its end (issue 13 "Clean store"), as
/// messages: empty when they all hold.
enum FleetInvariants {
    static func violations(in db: PostgresStore) async throws -> [String] {
        var found: [String] = []
        let unfinished: [String] = try await db.values(
            "SELECT process_id || ' ' || status FROM processes WHERE status IN ('pending', 'running')")
        if !unfinished.isEmpty { found.append("unfinished processes: \(unfinished)") }
        let owned: [String] = try await db.values(
            "SELECT process_id || ' ' || owner_runner FROM processes WHERE owner_runner IS NOT NULL AND status NOT IN ('pending', 'running')"
        )
        if !owned.isEmpty { found.append("finished processes still owned: \(owned)") }
        let states: [String] = try await db.values(
            "SELECT runner_id || ' ' || state FROM runners WHERE state <> 'stopped'")
        if !states.isEmpty { found.append("runners not stopped: \(states)") }
        let orphans: Int64? = try await db.value(
            """
            SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS
                      (SELECT 1 FROM processes p WHERE p.process_id = e.process_id))
                 + (SELECT count(*) FROM tasks t WHERE NOT EXISTS
                      (SELECT 1 FROM processes p WHERE p.process_id = t.process_id))
            """)
        if orphans != 0 { found.append("\(orphans ?? -1) task or event rows without their process") }
        let lastEvents: [String] = try await db.values(
            """
            SELECT p.process_id || ' ' || coalesce(last.event, '-') FROM processes p
              LEFT JOIN LATERAL (SELECT event FROM events e WHERE e.process_id = p.process_id
                                  ORDER BY e.id DESC LIMIT 1) last ON true
             WHERE last.event IS DISTINCT FROM 'process_' || CASE p.status WHEN 'success' THEN 'succeeded'
                                                      ELSE p.status END
            """)
        if !lastEvents.isEmpty { found.append("processes whose events do not end with their end: \(lastEvents)") }
        let twice: [String] = try await db.values(
            """
            SELECT process_id || ' ' || task_name FROM events WHERE event = 'task_succeeded'
             GROUP BY process_id, task_name HAVING count(*) > 1
            """)
        if !twice.isEmpty { found.append("tasks that succeeded twice: \(twice)") }
        return found
    }
}
