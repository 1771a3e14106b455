import Foundation
import PostgresNIO

/// A process row as the reaper and a control action read it before they change it: every column
/// the recovery function needs, and the definition it was accepted with. One select list and one
/// decoder for both, so the two cannot drift apart.
struct LockedProcessRow {
    var process: RecoveryInput.ProcessState
    /// The stored definition; nil when unknown (history copied from SQLite).
    var definitionYAML: String?
    var definitionSHA256: Data?

    /// The select list, over `processes p` joined with `definitions d`.
    static let columns = """
        p.process_id, p.process_type, p.status, p.inputs_json::text, p.request_json,
        \(PostgresStore.stamp("p.created_at")), \(PostgresStore.stamp("p.started_at")),
        \(PostgresStore.stamp("p.ended_at")), \(PostgresStore.stamp("p.updated_at")), p.error_json::text,
        p.crash_count, p.takeovers, p.owner_runner, p.lease_epoch, d.yaml, p.definition_sha256
        """

    /// Decodes one row of `columns`.
    init(_ row: PostgresRow) throws {
        let (
            id, type, status, inputsJSON, request, created, started, ended, updated, errorJSON, crashes, takeovers,
            owner, epoch, yaml, definitionHash
        ) = try row.decode(
            (
                String, String, String, String, String, String, String?, String?, String, String?, Int32, Int32,
                String?, Int64, String?, Data?
            ).self)
        process = RecoveryInput.ProcessState(
            processID: id, processType: type, status: status, inputsJSON: inputsJSON, requestJSON: request,
            createdAt: created, startedAt: started, endedAt: ended, updatedAt: updated, errorJSON: errorJSON,
            crashCount: Int(crashes), takeovers: Int(takeovers), ownerRunner: owner, leaseEpoch: epoch)
        definitionYAML = yaml
        definitionSHA256 = definitionHash
    }
}
