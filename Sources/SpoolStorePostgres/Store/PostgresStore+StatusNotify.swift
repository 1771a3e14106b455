import Foundation
import PostgresNIO

extension PostgresStore {
    /// Tells the runners that subscribe to `processIDs` (other than `except`) that their status
    /// changed, in the writing transaction (SPEC §9): one `NOTIFY spoolrunner_s_<runner hash>`
    /// per runner, carrying the ids separated by spaces, split so that no payload exceeds
    /// 7,900 bytes (PostgreSQL's limit is 8,000). The subscriber rewrites those status files from
    /// the store; its reconciliation finds whatever a lost notification missed.
    func notifySubscribers(of processIDs: [String], except: String?, on connection: PostgresConnection) async throws {
        guard !processIDs.isEmpty else { return }
        let rows = try await connection.query(
            """
            SELECT runner_id, process_id FROM subscriptions
             WHERE process_id = ANY(\(processIDs)::text[]) AND runner_id <> \(except ?? "")
             ORDER BY runner_id, process_id
            """, logger: logger)
        var byRunner: [(runner: String, ids: [String])] = []
        for try await (runner, id) in rows.decode((String, String).self) {
            if byRunner.last?.runner == runner {
                byRunner[byRunner.count - 1].ids.append(id)
            } else {
                byRunner.append((runner, [id]))
            }
        }
        var channels: [String] = []
        var payloads: [String] = []
        for (runner, ids) in byRunner {
            for payload in Self.statusPayloads(ids) {
                channels.append(Self.statusChannel(for: runner))
                payloads.append(payload)
            }
        }
        guard !channels.isEmpty else { return }
        try await connection.query(
            "SELECT pg_notify(c, p) FROM unnest(\(channels)::text[], \(payloads)::text[]) AS n(c, p)", logger: logger)
    }

    /// `ids` joined by spaces, in payloads of at most `limit` bytes (a process id is at most
    /// 128 bytes of `[A-Za-z0-9._-]`, so never split itself).
    static func statusPayloads(_ ids: [String], limit: Int = 7_900) -> [String] {
        var payloads: [String] = []
        var current = ""
        for id in ids {
            if !current.isEmpty, current.utf8.count + 1 + id.utf8.count > limit {
                payloads.append(current)
                current = ""
            }
            current += current.isEmpty ? id : " " + id
        }
        if !current.isEmpty { payloads.append(current) }
        return payloads
    }
}
