import Foundation
import ProcessDefinitions

/// Finds the rejections a crash kept from the store.
///
/// A rejected file is moved to `rejected/` at once (SPEC §3), with its reason beside it in
/// `rejected/<file>.error.json`, and its `rejections` row goes with the next commit: a runner
/// killed in between leaves the file moved and the row unwritten. The next start reads the
/// reasons written since the crashed session began and queues a row for each one the store does
/// not have (same file name, same `received_at` to the millisecond), so a row is never lost and
/// never written twice. The files stay where they are.
struct RejectionRecovery: Sendable {
    let layout: SpoolLayout
    let store: any Store

    /// - Parameter since: when the session that crashed started.
    /// - Returns: the rows to commit, oldest first.
    /// - Throws: `StoreError` when the store cannot be read.
    func unrecorded(since: Date) async throws(StoreError) -> [RejectionRecord] {
        let layout = self.layout
        let found = await Task.detached { Self.reasons(in: layout, writtenSince: since) }.value
        guard let earliest = found.map(\.receivedAt).min() else { return [] }
        let stored = try await store.rejections(RejectionQuery(since: earliest, limit: Int(Int32.max)))
        let known = Set(stored.map { "\($0.fileName)\u{0}\(Timestamp.string($0.receivedAt))" })
        return found.filter { !known.contains("\($0.fileName)\u{0}\(Timestamp.string($0.receivedAt))") }
            .sorted { $0.receivedAt < $1.receivedAt }
    }

    /// The reasons (`*.error.json`) in `rejected/` last written at or after `since` (a second
    /// early, for file systems that keep coarse times), as rows.
    private static func reasons(in layout: SpoolLayout, writtenSince since: Date) -> [RejectionRecord] {
        let bound = since.addingTimeInterval(-1)
        var rows: [RejectionRecord] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layout.rejected)) ?? [] {
            let path = "\(layout.rejected)/\(name)"
            guard name.hasSuffix(".error.json"), let modified = FileIdentity.of(path)?.modified, modified >= bound,
                let data = FileManager.default.contents(atPath: path),
                case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data),
                case .string(let file)? = fields["file"], case .string(let stamp)? = fields["received_at"],
                let receivedAt = Timestamp.parse(stamp), case .object(let error)? = fields["error"],
                case .string(let codeText)? = error["code"], let code = FailureCode(rawValue: codeText),
                case .string(let message)? = error["message"]
            else { continue }
            rows.append(RejectionRecord(fileName: file, receivedAt: receivedAt, code: code, message: message))
        }
        return rows
    }
}
