import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Waits for a child to exit without reaping it (swift-subprocess reaps it afterwards), and
/// keeps a list of the waits in progress so that a periodic sweep can end one whose exit event
/// never came.
///
/// A pidfd becomes readable when its process exits, so the wait is an epoll event through a
/// dispatch source, not a poll loop. The source watches a duplicate of the pidfd that only this
/// wait owns and closes in the source's cancel handler. libdispatch requires the descriptor of a
/// source to stay open until that handler has run: it keeps one epoll registration per
/// descriptor *number*, and unregisters asynchronously. Watching swift-subprocess's own pidfd
/// broke that rule (swift-subprocess closes it as soon as the run ends), so under load a later
/// child's pidfd could get the same number before libdispatch had dropped the old registration,
/// join the stale one, and never fire: the child stayed a zombie and its attempt `running` for
/// good (about 1 spawn in 2,000 with both CPUs busy).
final class ProcessExitWatcher: Sendable {
    /// The one watcher of the process: the sweep must see every wait.
    static let shared = ProcessExitWatcher()

    private struct Wait {
        let latch: ExitLatch
        /// Consecutive sweeps that found the process exited while its wait still waited.
        var sightings = 0
    }

    private let waits = Mutex<[Int32: Wait]>([:])
    private let queue = DispatchQueue(label: "spoolrunner.exit")

    /// Returns once `pid` has exited (it is left unreaped), or once a sweep found its exit.
    func waitForExit(pid: Int32, pidfd: Int32) async {
        let latch = ExitLatch()
        waits.withLock { $0[pid] = Wait(latch: latch) }
        defer { _ = waits.withLock { $0.removeValue(forKey: pid) } }
        let own = pidfd >= 0 ? fcntl(pidfd, F_DUPFD_CLOEXEC, 0) : -1
        if own >= 0 {
            let source = DispatchSource.makeReadSource(fileDescriptor: own, queue: queue)
            source.setEventHandler { latch.open() }
            source.setCancelHandler { close(own) }
            source.resume()
            await latch.wait()
            source.cancel()
            return
        }
        // No pidfd (older kernel, or out of descriptors): poll without reaping.
        var interval = 1
        while !latch.isOpen && !ProcessInspector.hasExited(pid) {
            try? await Task.sleep(for: .milliseconds(interval))
            interval = min(interval * 2, 50)
        }
    }

    /// The safety net: ends every wait whose process a sweep has found exited twice in a row
    /// (so an exit whose event is merely on its way is never counted). Returns those pids, for
    /// the caller to log: each is a bug to report, since the event should have come.
    func sweep() -> [Int32] {
        let candidates = waits.withLock { $0.map { ($0.key, $0.value.latch) } }
        var exited: Set<Int32> = []
        for (pid, latch) in candidates where !latch.isOpen && ProcessInspector.hasExited(pid) {
            exited.insert(pid)
        }
        let missed: [(Int32, ExitLatch)] = waits.withLock { waits in
            var missed: [(Int32, ExitLatch)] = []
            for pid in Array(waits.keys) {
                guard exited.contains(pid) else {
                    waits[pid]?.sightings = 0
                    continue
                }
                waits[pid]?.sightings += 1
                if let wait = waits[pid], wait.sightings >= 2 { missed.append((pid, wait.latch)) }
            }
            return missed
        }
        for (_, latch) in missed { latch.open() }
        return missed.map(\.0)
    }

    /// How many waits are in progress (for tests).
    var count: Int { waits.withLock { $0.count } }
}

/// A one-shot gate: `wait()` returns once `open()` has been called, whoever calls it first (the
/// exit event or the sweep).
final class ExitLatch: Sendable {
    private struct State {
        var open = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    var isOpen: Bool { state.withLock { $0.open } }

    func open() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard !state.open else { return nil }
            state.open = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
