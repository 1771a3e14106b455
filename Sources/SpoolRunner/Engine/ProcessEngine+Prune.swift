import Foundation

/// `serve --prune-after DUR`: the history forgets finished processes older than DUR, and every
/// spool the files that went with them (SPEC §9 maintenance).
extension ProcessEngine {
    /// Every `EngineConfiguration.pruneInterval(for:)` of the schedule clock:
    /// - a store of one runner (SQLite) is pruned in the loop, exactly as a `prune` control
    ///   message is (the runner never deletes a process it holds again);
    /// - a shared store is pruned by the leader alone, off the loop: the store keeps a process
    ///   that is unfinished, owned (being retried) or held here, under row locks, so it needs no
    ///   help from the loop, and a long prune never holds the engine up;
    /// - then, on every runner, the spool's files of processes the store no longer has go
    ///   (another host's leader pruned them, or a prune stopped between its commit and its files).
    func startPruning(in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        guard let after = configuration.pruneAfter, !configuration.once else { return }
        let interval = EngineConfiguration.pruneInterval(for: after)
        let clock = configuration.scheduleClock
        let events = self.events
        let shared = coordination.sharesWork
        let pruner = SpoolPruner(store: store, layout: layout)
        let logger = self.logger
        group.addTask { [self] in
            while !Task.isCancelled {
                try? await clock.sleep(interval)
                guard !Task.isCancelled else { return }
                let cutoff = clock.now().addingTimeInterval(-after.seconds)
                let stamp = Timestamp.string(cutoff)
                if !shared {
                    events.post(.pruneDue(before: cutoff))
                } else if await isLeader() {
                    do {
                        let outcome = try await pruner.prune(before: cutoff, keeping: await liveProcessIDs())
                        logger.log(
                            level: outcome.processes + outcome.rejectedFiles > 0 ? .notice : .debug,
                            "prune: deleted \(outcome.processes) process(es) that ended before \(stamp) from the store, and \(outcome.rejectedFiles) rejected file(s) of this spool"
                        )
                    } catch {
                        logger.warning("prune: the store could not be pruned; trying again in \(interval): \(error)")
                        events.post(.errorReported("prune: \(error)", Date()))
                    }
                }
                do {
                    let outcome = try await pruner.removeFilesOfForgottenProcesses(
                        before: cutoff, keeping: await liveProcessIDs())
                    logger.log(
                        level: outcome.processes + outcome.rejectedFiles > 0 ? .notice : .debug,
                        "prune: removed the files of \(outcome.processes) process(es) the store no longer has, and \(outcome.rejectedFiles) rejected file(s) older than \(stamp)"
                    )
                } catch {
                    logger.warning(
                        "prune: cannot ask the store which processes it still has; no file removed, trying again in \(interval): \(error)"
                    )
                }
            }
        }
    }

    /// The processes this runner holds: never pruned, whatever the store says.
    func liveProcessIDs() -> Set<String> { Set(processes.keys) }

    /// Prunes the store and this spool in the loop: a `prune` control message, or a
    /// `--prune-after` pass on a store of one runner.
    /// - Throws: `StoreError` when the store cannot be written; then no file was removed.
    func pruneHistory(before cutoff: Date) async throws(StoreError) {
        let outcome = try await SpoolPruner(store: store, layout: layout).prune(
            before: cutoff, keeping: Set(processes.keys))
        logger.notice(
            "pruned \(outcome.processes) process(es) that ended before \(Timestamp.string(cutoff)), and \(outcome.rejectedFiles) rejected file(s)"
        )
    }
}
