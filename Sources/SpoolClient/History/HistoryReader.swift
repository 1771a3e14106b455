import Foundation
import GRDB
import Synchronization

/// Read-only queries on the history store (SPEC §7) for clients that must not link the engine.
///
/// The runner is the only writer; this opens the file with `readonly` and asks only for the
/// contract's tables and columns, in SQL, so it depends on the published schema and not on the
/// engine's record types. The database may not exist yet (no runner has started on this spool):
/// it is opened on first use and every call until then says so.
public final class HistoryReader: Sendable {
    public let path: String
    private let queue = Mutex<DatabaseQueue?>(nil)

    public init(path: String) {
        self.path = path
    }

    /// Runs `body` in a read transaction.
    /// - Throws: `HistoryReadError` naming the file: missing, unreadable, or a failed query.
    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws(HistoryReadError) -> T {
        let database = try open()
        do {
            return try database.read(body)
        } catch {
            throw HistoryReadError(.queryFailed, path: path, message: "query failed: \(error)", cause: error)
        }
    }

    private func open() throws(HistoryReadError) -> DatabaseQueue {
        if let open = queue.withLock({ $0 }) { return open }
        guard FileManager.default.fileExists(atPath: path) else {
            throw HistoryReadError(
                .missing, path: path,
                message: "no history store yet; has `spoolrunner serve` run on this spool? (or pass --db)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.label = "spoolrunner.history.client"
        do {
            let database = try DatabaseQueue(path: path, configuration: configuration)
            return queue.withLock { current in
                if let current { return current }
                current = database
                return database
            }
        } catch {
            throw HistoryReadError(
                .cannotOpen, path: path, message: "cannot open the history store read-only: \(error)", cause: error)
        }
    }
}
