import Foundation

/// `prune`: forgets finished processes that ended before a cutoff, in the store and on disk
/// (status file, logs, work directory), and rejections received before it (rows, files in
/// `rejected/`, the rejected status file of a request that never became a process).
///
/// One code path for both callers: the runner, on a `prune` control message (so a process it is
/// redriving is never deleted under it), and `spoolrunner prune` holding the spool's lock when no
/// runner runs. Unfinished processes are never touched.
package struct SpoolPruner: Sendable {
    package struct Outcome: Sendable, Equatable {
        package var processes: Int
        package var rejectedFiles: Int
    }

    let store: any Store
    let layout: SpoolLayout

    package init(store: any Store, layout: SpoolLayout) {
        self.store = store
        self.layout = layout
    }

    /// - Parameter live: processes the runner holds; they are kept whatever the store says.
    /// - Throws: `StoreError` when the store cannot be written; then no file was removed.
    package func prune(before cutoff: Date, keeping live: Set<String> = []) async throws(StoreError) -> Outcome {
        let result = try await store.prune(before: cutoff, keeping: live)
        let layout = self.layout
        // Files only after the commit: a crash in between leaves files a later prune or the
        // status reconciler handles, never rows without their files' owner knowing.
        let rejectedFiles = await Task.detached {
            Self.removeFiles(of: result.processIDs, rejectedBefore: cutoff, layout: layout)
        }.value
        return Outcome(processes: result.processIDs.count, rejectedFiles: rejectedFiles)
    }

    /// The files `prune` would remove from `rejected/` (for `--dry-run`).
    package static func rejectedFiles(before cutoff: Date, layout: SpoolLayout) -> [String] {
        let files = FileManager.default
        return ((try? files.contentsOfDirectory(atPath: layout.rejected)) ?? []).filter { name in
            guard name != ".gitkeep", let modified = FileIdentity.of("\(layout.rejected)/\(name)")?.modified else {
                return false
            }
            return modified < cutoff
        }
    }

    /// Removes what belongs to the pruned processes and the old rejected files.
    /// - Returns: how many rejected files were removed.
    private static func removeFiles(of processIDs: [String], rejectedBefore cutoff: Date, layout: SpoolLayout) -> Int {
        let files = FileManager.default
        // Best effort, each: a file already gone is what was wanted.
        for id in processIDs {
            try? files.removeItem(atPath: layout.statusFile(id))
            try? files.removeItem(atPath: layout.logDirectory(id))
            try? files.removeItem(atPath: layout.workDirectory(id))
        }
        let writer = StatusWriter(layout: layout)
        var removed = 0
        for name in rejectedFiles(before: cutoff, layout: layout) {
            guard (try? files.removeItem(atPath: "\(layout.rejected)/\(name)")) != nil else { continue }
            removed += 1
            // The rejected status file of a request that never became a process.
            if name.hasSuffix(".json.error.json") {
                let id = String(name.dropLast(".json.error.json".count))
                // An unreadable one is left alone: it may not be a rejected request's.
                if (try? writer.read(processID: id))??.status == .rejected {
                    try? files.removeItem(atPath: layout.statusFile(id))
                }
            }
        }
        return removed
    }
}
