import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner prune --older-than DUR`: forgets finished processes; never touches unfinished ones.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract:
            "Delete finished processes that ended more than DUR ago: history rows, status files, logs, work directories.",
        discussion:
            "Unfinished processes are never touched. Rejections older than DUR are removed too (rows, rejected/ files and their rejected status files). While a runner holds the spool, the runner does the prune (a control message), so it never deletes a process it is running again; otherwise prune holds the spool's lock while it works. With --store URL the PostgreSQL store is pruned directly, 10,000 processes per transaction, and this host's spool loses the files of the pruned processes; other hosts prune their own files with their own prune runs."
    )

    @Option(help: ArgumentHelp("Age of the processes to delete (e.g. 30d).", valueName: "DUR"))
    var olderThan: DurationArgument

    @Flag(help: "Only list what would be deleted; change nothing.")
    var dryRun = false

    @OptionGroup var spool: SpoolOptions

    @OptionGroup var store: StoreOptions

    func validate() throws { _ = try StoreSelection.resolve(spool: spool, store: store) }

    func run() async throws {
        let layout = spool.layout
        let cutoffDate = Date().addingTimeInterval(-olderThan.duration.seconds)
        let cutoff = Timestamp.string(cutoffDate)
        let selection = try StoreSelection.resolve(spool: spool, store: store)
        if case .postgres = selection {
            try await pruneSharedStore(selection, cutoff: cutoff, cutoffDate: cutoffDate)
            return
        }
        if dryRun {
            try await preview(cutoff: cutoff, cutoffDate: cutoffDate)
            return
        }
        guard FileManager.default.fileExists(atPath: spool.databasePath) else {
            throw fail(
                "\(spool.databasePath): no history store here; has `spoolrunner serve` run on this spool? (use --spool or --db)",
                ExitStatus.noInput)
        }
        // No runner: hold the spool's lock for the prune, so none starts in the middle of it.
        // A runner: it prunes on our behalf, and never deletes a process it holds again (a
        // retry redriving it), which a second writer could not know.
        let lock: SpoolLock
        do {
            lock = try SpoolLock(path: layout.lockFile)
        } catch  where error.code == .locked {
            try await pruneThroughRunner(cutoff: cutoff, cutoffDate: cutoffDate)
            return
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let outcome: SpoolPruner.Outcome
        do {
            let store = try SQLiteStore(path: spool.databasePath)
            outcome = try await SpoolPruner(store: store, layout: layout).prune(before: cutoffDate)
        } catch {
            throw fail(error)
        }
        withExtendedLifetime(lock) {}
        print(
            "pruned \(outcome.processes) process(es) that ended before \(cutoff), and \(outcome.rejectedFiles) rejected file(s)"
        )
    }

    /// Sends a `prune` control message to the running runner and waits until it has acted on it.
    func pruneThroughRunner(cutoff: String, cutoffDate: Date) async throws {
        let layout = spool.layout
        let store = spool.openReadOnly()
        let before: PrunePlan
        do {
            before = try await store.prunePlan(before: cutoffDate)
        } catch {
            throw fail(error)
        }
        let rejectedBefore = SpoolPruner.rejectedFiles(before: cutoffDate, layout: layout).count
        let name: String
        do {
            name = try RequestDropper(layout: layout).control(.prune(before: cutoff))
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        var notice = RunnerNotice(layout: layout)
        while FileManager.default.fileExists(atPath: "\(layout.control)/\(name)") {
            notice.check()
            try await Task.sleep(for: .milliseconds(50))
        }
        if FileManager.default.fileExists(atPath: "\(layout.rejected)/\(name)") {
            let error = (try? String(contentsOfFile: "\(layout.rejected)/\(name).error.json", encoding: .utf8)) ?? ""
            throw fail(
                "the runner rejected the prune message: \(error.trimmingCharacters(in: .whitespacesAndNewlines))",
                ExitStatus.failed)
        }
        let after: PrunePlan
        do {
            after = try await store.prunePlan(before: cutoffDate)
        } catch {
            throw fail(error)
        }
        let rejectedAfter = SpoolPruner.rejectedFiles(before: cutoffDate, layout: layout).count
        let kept = after.processIDs.count
        print(
            "pruned \(before.processIDs.count - kept) process(es) that ended before \(cutoff), and \(max(0, rejectedBefore - rejectedAfter)) rejected file(s), through the running runner\(kept > 0 ? " (\(kept) kept: the runner holds them again)" : "")"
        )
    }

    /// `--dry-run`: the same selection, read-only, printed.
    func preview(cutoff: String, cutoffDate: Date) async throws {
        let plan: PrunePlan
        do {
            plan = try await spool.openReadOnly().prunePlan(before: cutoffDate)
        } catch {
            throw fail(error)
        }
        let rejectedFiles = SpoolPruner.rejectedFiles(before: cutoffDate, layout: spool.layout)
        for id in plan.processIDs { print(id) }
        print(
            "would prune \(plan.processIDs.count) process(es) that ended before \(cutoff), \(plan.rejections) rejection row(s) and \(rejectedFiles.count) rejected file(s); nothing was changed (--dry-run)"
        )
    }

    /// `--store`: the shared store is pruned directly. Its rows are safe from a concurrent runner
    /// without going through one: only finished processes are selected, under row locks that a
    /// retry (which makes a process pending again) also takes. This host's files of the pruned
    /// processes go too; there may be no spool here at all.
    func pruneSharedStore(_ selection: StoreSelection, cutoff: String, cutoffDate: Date) async throws {
        let layout = spool.layout
        let location = selection.location
        if dryRun {
            let plan = try await selection.withReader { store in try await store.prunePlan(before: cutoffDate) }
            let rejectedFiles = SpoolPruner.rejectedFiles(before: cutoffDate, layout: layout)
            for id in plan.processIDs { print(id) }
            print(
                "would prune \(plan.processIDs.count) process(es) that ended before \(cutoff) and \(plan.rejections) rejection row(s) from store \(location), and \(rejectedFiles.count) rejected file(s) of \(layout.root); nothing was changed (--dry-run)"
            )
            return
        }
        let outcome = try await selection.withStore { store in
            try await SpoolPruner(store: store, layout: layout).prune(before: cutoffDate)
        }
        print(
            "pruned \(outcome.processes) process(es) that ended before \(cutoff) from store \(location), and \(outcome.rejectedFiles) rejected file(s) of \(layout.root)"
        )
    }
}
