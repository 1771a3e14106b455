import Foundation
import PostgresNIO

extension PostgresStore {
    /// Every runner the store knows, by id, with its health, whether it leads (holds the leader's
    /// advisory lock right now), and how many processes it owns.
    public func runners() async throws -> [RunnerState] {
        let key = AdvisoryKey.leader(schema: url.schema)
        // pg_locks shows a bigint advisory key as its high and low 32 bits.
        let high = Int64(UInt64(bitPattern: key) >> 32)
        let low = Int64(UInt64(bitPattern: key) & 0xFFFF_FFFF)
        do {
            let rows = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT r.runner_id, r.hostname, r.pid, r.version, r.incarnation, \(Self.stamp("r.started_at")),
                               extract(epoch FROM now() - r.heartbeat_at)::float8, \(Self.stamp("r.expires_at")),
                               CASE WHEN r.state <> 'alive' THEN r.state
                                    WHEN r.expires_at <= now() THEN 'expired'
                                    WHEN now() - r.heartbeat_at > (r.expires_at - r.heartbeat_at) * 2 / 5 THEN 'late'
                                    ELSE 'healthy' END,
                               EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                                        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                                          AND l.database = (SELECT oid FROM pg_database
                                                             WHERE datname = current_database())
                                          AND l.classid::int8 = $1 AND l.objid::int8 = $2
                                          AND a.application_name = 'spoolrunner/' || r.runner_id || '/control'),
                               (SELECT count(*) FROM processes p WHERE p.owner_runner = r.runner_id),
                               r.running_tasks, r.max_tasks, r.definitions::text
                          FROM runners r ORDER BY r.runner_id
                        """, binds: Self.binds([high, low])), logger: logger)
            var result: [RunnerState] = []
            for try await row in rows {
                let (
                    id, host, pid, version, incarnation, started, age, expires, health, leader, owned, running, max,
                    definitions
                ) = try row.decode(
                    (
                        String, String, Int32, String, Int64, String, Double, String, String, Bool, Int64, Int32,
                        Int32, String
                    ).self)
                let hashes = (try? JSONDecoder().decode([String: String].self, from: Data(definitions.utf8))) ?? [:]
                result.append(
                    RunnerState(
                        runnerID: id, hostname: host, pid: Int(pid), version: version, incarnation: incarnation,
                        startedAt: started, heartbeatAgeSeconds: age, expiresAt: expires,
                        health: RunnerState.Health(rawValue: health) ?? .dead, leader: leader,
                        ownedProcesses: Int(owned), runningTasks: Int(running), maxTasks: Int(max),
                        definitions: hashes))
            }
            return result
        } catch {
            throw PostgresStoreError.wrap(error, "listing the runners")
        }
    }

    static func binds(_ values: [Int64]) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }
}
