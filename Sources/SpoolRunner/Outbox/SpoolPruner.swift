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

    /// This spool's files of processes the store no longer has: `serve --prune-after` on every
    /// host, after the leader pruned the store (or a prune stopped between its commit and its
    /// files). Only entries of `outbox/`, `logs/` and `work/` last changed before `cutoff` are
    /// looked at, and each is removed only when the store, asked after the listing, has no
    /// process of that id; the rejected status file of a request that never became a process
    /// stays (it goes with its `rejected/` file, also removed here once older than `cutoff`).
    ///
    /// Why this never removes a file of a process that exists: a file is written only after the
    /// commit that records its process (SPEC §6), so a listed file whose id the store does not
    /// have afterwards belongs to a process that was deleted; and the files of an id accepted
    /// again after a prune are new (changed after `cutoff`), so they are not listed. Each is
    /// checked again just before it goes.
    /// - Parameter live: processes the runner holds; their files are never looked at.
    /// - Throws: `StoreError` when the store cannot be read; then nothing was removed.
    package func removeFilesOfForgottenProcesses(before cutoff: Date, keeping live: Set<String> = [])
        async throws(StoreError) -> Outcome
    {
        let layout = self.layout
        let candidates = await Task.detached { Self.entries(before: cutoff, layout: layout) }.value
            .subtracting(live)
        var existing: Set<String> = []
        let ids = candidates.sorted()
        for start in stride(from: 0, to: ids.count, by: 1_000) {
            existing.formUnion(
                try await store.existingProcessIDs(among: Array(ids[start..<min(start + 1_000, ids.count)])))
        }
        let forgotten = candidates.subtracting(existing).sorted()
        return await Task.detached {
            let processes = Self.removeForgotten(forgotten, before: cutoff, layout: layout)
            let rejectedFiles = Self.removeRejectedFiles(before: cutoff, layout: layout)
            return Outcome(processes: processes, rejectedFiles: rejectedFiles)
        }.value
    }

    /// The process ids with an entry in `outbox/`, `logs/` or `work/` last changed before `cutoff`.
    private static func entries(before cutoff: Date, layout: SpoolLayout) -> Set<String> {
        var ids: Set<String> = []
        for (directory, suffix) in [(layout.outbox, ".json"), (layout.logs, ""), (layout.work, "")] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard name.hasSuffix(suffix) else { continue }
                let id = String(name.dropLast(suffix.count))
                guard ProcessID.isValid(id), let modified = FileIdentity.of("\(directory)/\(name)")?.modified,
                    modified < cutoff
                else { continue }
                ids.insert(id)
            }
        }
        return ids
    }

    /// Removes the status file, log directory and work directory of each of `ids` that are still
    /// older than `cutoff`, except a rejected request's status file.
    /// - Returns: how many processes lost at least one entry.
    private static func removeForgotten(_ ids: [String], before cutoff: Date, layout: SpoolLayout) -> Int {
        let files = FileManager.default
        let writer = StatusWriter(layout: layout)
        var removed = 0
        for id in ids {
            var any = false
            for path in [layout.statusFile(id), layout.logDirectory(id), layout.workDirectory(id)] {
                // Again, just before: an id accepted again since the listing has new files.
                guard let modified = FileIdentity.of(path)?.modified, modified < cutoff else { continue }
                if path == layout.statusFile(id) {
                    // A rejected request's (no process ever had the id) or one that does not
                    // read as a status file: not a forgotten process's.
                    guard let document = (try? writer.read(processID: id)) ?? nil, document.status != .rejected else {
                        continue
                    }
                }
                if (try? files.removeItem(atPath: path)) != nil { any = true }
            }
            if any { removed += 1 }
        }
        return removed
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
        return removeRejectedFiles(before: cutoff, layout: layout)
    }

    /// Removes the files of `rejected/` older than `cutoff`, and the rejected status file of each
    /// request that never became a process.
    /// - Returns: how many rejected files were removed.
    private static func removeRejectedFiles(before cutoff: Date, layout: SpoolLayout) -> Int {
        let files = FileManager.default
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
