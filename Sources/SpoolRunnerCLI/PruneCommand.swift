import ArgumentParser
import Foundation
import GRDB
import SpoolRunner

/// `spoolrunner prune --older-than DUR`: forgets finished processes; never touches unfinished ones.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract:
            "Delete finished processes that ended more than DUR ago: history rows, status files, logs, work directories.",
        discussion:
            "Unfinished processes are never touched. Rejections older than DUR are removed too (rows, rejected/ files and their rejected status files)."
    )

    @Option(help: ArgumentHelp("Age of the processes to delete (e.g. 30d).", valueName: "DUR"))
    var olderThan: DurationArgument

    @Flag(help: "Only list what would be deleted; change nothing.")
    var dryRun = false

    @OptionGroup var spool: SpoolOptions

    static let finishedBefore = """
        SELECT process_id FROM processes
        WHERE status IN ('success', 'failed', 'cancelled') AND ended_at IS NOT NULL AND ended_at < ?
        ORDER BY ended_at
        """

    func run() throws {
        let layout = spool.layout
        let cutoff = Timestamp.string(Date().addingTimeInterval(-olderThan.duration.seconds))
        if dryRun {
            try preview(cutoff: cutoff)
            return
        }
        let store: HistoryStore
        do {
            store = try HistoryStore(path: spool.databasePath)
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let ids: [String]
        do {
            ids = try store.write { db in
                let ids = try String.fetchAll(db, sql: Self.finishedBefore, arguments: [cutoff])
                for chunk in stride(from: 0, to: ids.count, by: 500) {
                    let part = Array(ids[chunk..<min(chunk + 500, ids.count)])
                    let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                    try db.execute(
                        sql: "DELETE FROM events WHERE process_id IN (\(marks))", arguments: StatementArguments(part))
                    try db.execute(
                        sql: "DELETE FROM tasks WHERE process_id IN (\(marks))", arguments: StatementArguments(part))
                    try db.execute(
                        sql: "DELETE FROM processes WHERE process_id IN (\(marks))", arguments: StatementArguments(part)
                    )
                }
                try db.execute(sql: "DELETE FROM rejections WHERE received_at < ?", arguments: [cutoff])
                return ids
            }
        } catch {
            throw fail("cannot prune \(spool.databasePath): \(error)", ExitStatus.ioError)
        }
        let files = FileManager.default
        for id in ids {
            try? files.removeItem(atPath: layout.statusFile(id))
            try? files.removeItem(atPath: layout.logDirectory(id))
            try? files.removeItem(atPath: layout.workDirectory(id))
        }
        let cutoffDate = Date().addingTimeInterval(-olderThan.duration.seconds)
        var rejectedFiles = 0
        for name in (try? files.contentsOfDirectory(atPath: layout.rejected)) ?? [] where name != ".gitkeep" {
            let path = "\(layout.rejected)/\(name)"
            guard let modified = (try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                modified < cutoffDate
            else { continue }
            try? files.removeItem(atPath: path)
            rejectedFiles += 1
            // The rejected status file of a request that never became a process.
            if name.hasSuffix(".json.error.json") {
                let id = String(name.dropLast(".json.error.json".count))
                let writer = StatusWriter(layout: layout)
                if (try? writer.read(processID: id))?.status == .rejected {
                    try? files.removeItem(atPath: layout.statusFile(id))
                }
            }
        }
        print("pruned \(ids.count) process(es) that ended before \(cutoff), and \(rejectedFiles) rejected file(s)")
    }

    /// `--dry-run`: the same selection, read-only, printed.
    func preview(cutoff: String) throws {
        let store = try spool.openReadOnly()
        let (ids, rejections): ([String], Int)
        do {
            (ids, rejections) = try store.read { db in
                (
                    try String.fetchAll(db, sql: Self.finishedBefore, arguments: [cutoff]),
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM rejections WHERE received_at < ?", arguments: [cutoff]) ?? 0
                )
            }
        } catch {
            throw fail("cannot read \(spool.databasePath): \(error)", ExitStatus.ioError)
        }
        let cutoffDate = Date().addingTimeInterval(-olderThan.duration.seconds)
        let files = FileManager.default
        let rejectedFiles = ((try? files.contentsOfDirectory(atPath: spool.layout.rejected)) ?? []).filter { name in
            guard name != ".gitkeep",
                let modified = (try? files.attributesOfItem(atPath: "\(spool.layout.rejected)/\(name)"))?[
                    .modificationDate] as? Date
            else { return false }
            return modified < cutoffDate
        }
        for id in ids { print(id) }
        print(
            "would prune \(ids.count) process(es) that ended before \(cutoff), \(rejections) rejection row(s) and \(rejectedFiles.count) rejected file(s); nothing was changed (--dry-run)"
        )
    }
}
