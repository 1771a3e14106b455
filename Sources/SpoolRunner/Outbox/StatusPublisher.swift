import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Writes status files on its own thread, newest document per process first come, so the
/// engine never waits for the filesystem; and keeps every status file equal to the store.
///
/// File creation is the slowest thing the runner does (a new inode per atomic rewrite); doing
/// it here keeps it off the engine's critical path, and under load it coalesces by itself: a
/// process changed several times while the thread was busy gets one write of its latest state
/// (SPEC §2: changes a few milliseconds apart may be written as one; the final one always is).
///
/// Convergence (SPEC §4, status files are a projection of the store): a write that fails stays
/// queued and is retried with backoff until it works (a missing `outbox/` is recreated; a full
/// disk pauses the runner through `RunnerPause` until a write works again); and between writes
/// the `StatusReconciler` looks for files that are missing or stale (a sweep of every process
/// at start, then every `interval` the processes changed since the last pass plus one page of a
/// slow sweep) and queues a repair, whose document is read from the store when it is written.
/// Only this thread writes status files, so a repair can never overwrite a newer document: what
/// the engine commits after a repair's read is published after it, and written after it.
package final class StatusPublisher: Sendable {
    enum Item: Sendable {
        case document(StatusDocument)
        /// Rewrite from the store, read at write time.
        case repair

        var isRepair: Bool {
            if case .repair = self { return true }
            return false
        }
    }

    private struct State {
        var pending: [String: Item] = [:]
        var order: [String] = []
        var writing = false
        var stopped = false
        var finished = false
        var reconciling = false
        var stopDeadline = Date.distantFuture
        var stopTimeout: Double = 10
        /// Who waits in `stop` for the thread to finish.
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let writer: StatusWriter
    private let reconciler: StatusReconciler?
    private let pause: RunnerPause
    private let logger: Logger
    private let interval: Double
    private let state = Mutex(State())
    private let condition = NSCondition()

    /// - Parameters:
    ///   - reconciler: finds missing or stale files; nil writes only what is published.
    ///   - interval: seconds between two reconciliation passes.
    init(writer: StatusWriter, reconciler: StatusReconciler?, pause: RunnerPause, logger: Logger, interval: Double = 5)
    {
        self.writer = writer
        self.reconciler = reconciler
        self.pause = pause
        self.logger = logger
        self.interval = interval
        let thread = Thread { [self] in self.loop() }
        thread.name = "spoolrunner.status"
        thread.start()
    }

    /// Queues `document`, replacing any older one (or a repair) of the same process not yet written.
    package func publish(_ document: StatusDocument) {
        enqueue([document.processID]) { _ in .document(document) }
    }

    /// Starts the reconciliation passes, beginning with a sweep of every process: after a crash
    /// (or a full disk, or a deleted `outbox/`) any file may be missing or stale.
    package func startReconciling() {
        condition.lock()
        state.withLock { $0.reconciling = true }
        condition.broadcast()
        condition.unlock()
    }

    /// Writes what is queued, then ends the thread. `timeout` bounds only failing writes: a
    /// backlog that is being written goes on to the end however long it is (the final state is
    /// always written), while writes that fail for `timeout` seconds in a row are given up,
    /// logged, and left to the next start's sweep.
    ///
    /// Suspends, never blocks: the thread's last reconciliation pass reads the store through
    /// async calls that need a thread of the cooperative pool, and a pool thread blocked here
    /// waiting for that pass could be the one it needs (two engines in one process on two cores
    /// deadlocked that way).
    package func stop(timeout: Double = 10) async {
        requestStop(timeout: timeout)
        await withCheckedContinuation { continuation in
            let finished = state.withLock { state in
                if !state.finished { state.finishWaiters.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
    }

    private func requestStop(timeout: Double) {
        condition.lock()
        state.withLock {
            $0.stopped = true
            $0.stopTimeout = timeout
            $0.stopDeadline = Date().addingTimeInterval(timeout)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a repair of each of `processIDs` that has nothing queued yet.
    private func requestRepairs(_ processIDs: [String]) {
        enqueue(processIDs) { existing in existing ?? .repair }
    }

    private func enqueue(_ processIDs: [String], _ item: (Item?) -> Item) {
        guard !processIDs.isEmpty else { return }
        condition.lock()
        state.withLock { state in
            for processID in processIDs {
                let existing = state.pending[processID]
                state.pending[processID] = item(existing)
                if existing == nil { state.order.append(processID) }
            }
        }
        condition.signal()
        condition.unlock()
    }

    // MARK: - The thread

    /// What the thread does next.
    private enum Work {
        case write([(String, Item)])
        case reconcile
        case finish(unwritten: Int)
    }

    private func loop() {
        var retryAt: Date?
        var backoff = Backoff(initial: 0.1, maximum: 5)
        var failing: String?
        var pass = ReconcilePass()
        var nextPass = Date.distantPast
        // Only this thread writes status files: the reused inode is its own.
        var file = RecyclingAtomicFile()
        while true {
            // A sweep in progress (the start's, or after outbox/ was recreated) is finished before
            // the thread ends, so that even `serve --once` leaves no stale file behind.
            let work = nextWork(retryAt: retryAt, sweeping: pass.fast, nextPass: { nextPass })
            switch work {
            case .finish(let unwritten):
                if unwritten > 0 {
                    logger.warning(
                        "stopping with \(unwritten) status file(s) not written (\(failing ?? "writes failing")); the next start writes them from the store"
                    )
                }
                writer.removeSpare(of: &file)
                condition.lock()
                let waiters = state.withLock { state in
                    state.finished = true
                    state.writing = false
                    defer { state.finishWaiters.removeAll() }
                    return state.finishWaiters
                }
                condition.broadcast()
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            case .reconcile:
                nextPass = reconcile(&pass)
            case .write(let batch):
                // Repairs are read from the store together, in one transaction, just before
                // they are written.
                let repairIDs = batch.compactMap { id, item in item.isRepair ? id : nil }
                var repairs: [String: StatusDocument] = [:]
                var readFailed = false
                var unwritten: [(String, Item)] = []
                do {
                    repairs = try reconciler?.documents(repairIDs) ?? [:]
                } catch {
                    readFailed = true
                    unwritten = batch.filter { $0.1.isRepair }
                    let text = "cannot read the history store: \(error)"
                    if failing != text {
                        failing = text
                        logger.error("cannot rewrite status files from the store (retrying with backoff): \(text)")
                    }
                }
                let writable = readFailed ? batch.filter { !$0.1.isRepair } : batch
                for (offset, (processID, item)) in writable.enumerated() {
                    let document: StatusDocument
                    switch item {
                    case .document(let published):
                        document = published
                    case .repair:
                        // A process that is gone (pruned) has nothing to write.
                        guard let stored = repairs[processID] else { continue }
                        document = stored
                    }
                    if let error = write(document, isRepair: item.isRepair, file: &file) {
                        if failing != error {
                            failing = error
                            logger.error(
                                "cannot write status file (retrying with backoff until it works): \(error)",
                                metadata: ["process.id": "\(processID)"])
                        }
                        unwritten += writable[offset...]
                        break
                    }
                    if failing != nil, !readFailed {
                        failing = nil
                        backoff.reset()
                        pause.clear(.statusFiles)
                        logger.notice("status files are written again")
                    }
                }
                if unwritten.isEmpty {
                    retryAt = nil
                    // Progress: the stop's timeout counts from the last successful batch.
                    state.withLock { state in
                        if state.stopped { state.stopDeadline = Date().addingTimeInterval(state.stopTimeout) }
                    }
                } else {
                    // Back in the queue unless a newer document came meanwhile.
                    condition.lock()
                    state.withLock { state in
                        var front: [String] = []
                        for (processID, item) in unwritten where state.pending[processID] == nil {
                            state.pending[processID] = item
                            front.append(processID)
                        }
                        state.order = front + state.order
                    }
                    condition.unlock()
                    retryAt = Date().addingTimeInterval(backoff.next())
                }
                condition.lock()
                state.withLock { $0.writing = false }
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Waits for something to do: queued writes (unless backing off), a reconciliation pass
    /// that is due, or the end.
    private func nextWork(retryAt: Date?, sweeping: Bool, nextPass: () -> Date) -> Work {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = Date()
            let backingOff = retryAt.map { now < $0 } ?? false
            let decision = state.withLock { state -> (Work?, reconciling: Bool) in
                // Stopping: done once everything is written, or past the deadline while writes
                // keep failing (or only the start's sweep is left); a backlog that is being
                // written is finished, however long it is.
                if state.stopped,
                    (state.pending.isEmpty && !(sweeping && state.reconciling))
                        || (now >= state.stopDeadline && (backingOff || state.pending.isEmpty))
                {
                    return (.finish(unwritten: state.pending.count), false)
                }
                if !backingOff, !state.pending.isEmpty {
                    let batch = state.order.compactMap { id in state.pending[id].map { (id, $0) } }
                    state.pending.removeAll(keepingCapacity: true)
                    state.order.removeAll(keepingCapacity: true)
                    state.writing = true
                    return (.write(batch), true)
                }
                return (nil, state.reconciling && (!state.stopped || sweeping))
            }
            if let work = decision.0 { return work }
            if decision.reconciling, reconciler != nil, !backingOff, now >= nextPass() { return .reconcile }
            var wake = Date.distantFuture
            if let retryAt, backingOff { wake = min(wake, retryAt) }
            if decision.reconciling, reconciler != nil { wake = min(wake, nextPass()) }
            if wake == .distantFuture {
                condition.wait()
            } else {
                _ = condition.wait(until: wake)
            }
        }
    }

    /// Writes one document; returns the error text when it failed (it is then retried).
    private func write(_ document: StatusDocument, isRepair: Bool, file: inout RecyclingAtomicFile) -> String? {
        let processID = document.processID
        if isRepair, let current = FileManager.default.contents(atPath: writer.layout.statusFile(processID)),
            StatusReconciler.updatedAt(in: current) == document.updatedAt
        {
            return nil
        }
        var failure: SpoolError
        do {
            try writer.write(document, recycling: &file)
            noteWritten(isRepair)
            return nil
        } catch {
            failure = error
        }
        if failure.errno == .noSuchFileOrDirectory, restoreDirectories() {
            do {
                try writer.write(document, recycling: &file)
                noteWritten(isRepair)
                return nil
            } catch {
                failure = error
            }
        }
        if let reason = PauseReason(failure) {
            pause.raise(
                .statusFiles, reason, path: failure.path, message: "cannot write status file \(failure.description)")
        }
        return failure.description
    }

    private func noteWritten(_ isRepair: Bool) {
        if isRepair { repairsWritten.add(1, ordering: .relaxed) }
    }

    /// Recreates missing spool directories; returns whether any was.
    private func restoreDirectories() -> Bool {
        let (restored, failure) = writer.layout.restoreMissingDirectories()
        for directory in restored {
            logger.warning("recreated missing directory \(directory)")
        }
        if let failure { logger.error("\(failure)") }
        if restored.contains(writer.layout.outbox) {
            // Every status file went with it.
            outboxRestored.store(true, ordering: .relaxed)
        }
        return !restored.isEmpty
    }

    /// Set when `outbox/` had to be recreated: the next pass sweeps every process at once.
    private let outboxRestored = Atomic<Bool>(false)
    /// Repairs written since the last pass logged them.
    private let repairsWritten = Atomic<Int>(0)

    // MARK: - Reconciliation

    /// Where the passes are.
    private struct ReconcilePass {
        var started = false
        var lastEventID: Int64 = 0
        /// The sweep's position (a rowid of `processes`).
        var cursor: Int64 = 0
        /// Pages back to back (at start, after `outbox/` was recreated) or one page per pass.
        var fast = true
        var outboxIdentity: [UInt64]?
        var failing: String?
    }

    /// One pass: recreates missing directories, queues a repair of every process changed since
    /// the last pass and of one page of the sweep whose file is missing or stale.
    /// - Returns: when the next pass is due.
    private func reconcile(_ pass: inout ReconcilePass) -> Date {
        guard let reconciler else { return .distantFuture }
        let layout = writer.layout
        do {
            if !pass.started {
                pass.lastEventID = try reconciler.lastEventID()
                pass.started = true
            }
            _ = restoreDirectories()
            var info = stat()
            let identity = lstat(layout.outbox, &info) == 0 ? [UInt64(info.st_dev), UInt64(info.st_ino)] : nil
            if outboxRestored.exchange(false, ordering: .relaxed)
                || (pass.outboxIdentity != nil && identity != pass.outboxIdentity)
            {
                logger.warning("outbox/ was replaced: checking every status file against the store")
                pass.cursor = 0
                pass.fast = true
            }
            pass.outboxIdentity = identity
            let (changed, last) = try reconciler.changed(after: pass.lastEventID)
            pass.lastEventID = last
            var stale = reconciler.stale(notPending(changed))
            let page = try reconciler.page(after: pass.cursor)
            stale += reconciler.stale(notPending(page))
            if let end = page.last {
                pass.cursor = end.cursor
            } else {
                pass.cursor = 0
                pass.fast = false
            }
            requestRepairs(stale)
            pass.failing = nil
        } catch {
            let text = "\(error)"
            if pass.failing != text {
                pass.failing = text
                logger.error("cannot check status files against the history store (trying again later): \(text)")
            }
        }
        let written = repairsWritten.exchange(0, ordering: .relaxed)
        if written > 0 {
            logger.notice("rewrote \(written) status file(s) that were missing or older than the history store")
        }
        return pass.fast ? Date() : Date().addingTimeInterval(interval)
    }

    /// The stamps of processes with no write queued (a queued one is about to be written anyway).
    private func notPending(_ stamps: [StatusReconciler.Stamp]) -> [StatusReconciler.Stamp] {
        guard !stamps.isEmpty else { return [] }
        return state.withLock { state in stamps.filter { state.pending[$0.processID] == nil } }
    }
}
