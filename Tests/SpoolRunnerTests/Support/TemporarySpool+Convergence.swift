import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Status files against the history store (SPEC §4: a status file is a projection of the store).
extension TemporarySpool {
    /// Each process's status document as the store has it, rendered exactly as the runner
    /// writes it, by process id.
    func storeDocuments(database: String? = nil) throws -> [String: Data] {
        let queue = try DatabaseQueue(path: database ?? layout.defaultDatabase)
        return try queue.read { db in
            let records = try ProcessRecord.fetchAll(db)
            let tasks = Dictionary(grouping: try TaskRecord.fetchAll(db), by: \.processID)
            return Dictionary(
                uniqueKeysWithValues: records.map {
                    ($0.processID, StatusDocument(process: $0, tasks: tasks[$0.processID] ?? []).jsonData())
                })
        }
    }

    /// The processes whose status file is missing or differs from the store, with why.
    func statusFilesDifferingFromStore(database: String? = nil) throws -> [String] {
        try storeDocuments(database: database).sorted { $0.key < $1.key }.compactMap { id, expected in
            guard let actual = statusBytes(id) else { return "\(id): missing" }
            guard actual != expected else { return nil }
            let status =
                (try? JSONDecoder().decode(StatusDocument.self, from: actual)).map {
                    "\($0.status.rawValue) at \($0.updatedAt)"
                } ?? "unreadable"
            return "\(id): file says \(status)"
        }
    }

    /// Waits until every status file equals the store and every process of `ids` has ended;
    /// records an issue naming the differences when that does not happen within `timeout`.
    func expectStatusFilesConverge(
        _ ids: [String], database: String? = nil, timeout: Double = 60,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var differing: [String] = []
        let converged = await eventually(timeout: timeout) {
            differing = (try? statusFilesDifferingFromStore(database: database)) ?? ["store unreadable"]
            let ended = ids.allSatisfy { status($0)?.status.isFinal ?? false }
            return differing.isEmpty && ended
        }
        #expect(
            converged, "status files differ from the store: \(differing.prefix(10))", sourceLocation: sourceLocation)
        let stored = try storeDocuments(database: database)
        #expect(
            Set(ids).isSubset(of: Set(stored.keys)),
            "requests lost: \(Set(ids).subtracting(stored.keys).sorted().prefix(10))", sourceLocation: sourceLocation)
    }

    /// The runner's stderr so far (a `RunningCommand` collects it in a file).
    static func standardErrorSoFar(_ command: RunningCommand) -> String {
        (try? String(contentsOfFile: command.errorPath, encoding: .utf8)) ?? ""
    }

    /// runner.json as a dictionary.
    var heartbeat: [String: Any]? { Self.jsonObject(atPath: layout.heartbeatFile) }
}
