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
/// A pidfd becomes readable when its process exits, so the wait is an epoll event through
/// `DescriptorPoller`, not a poll loop (nor a dispatch source: a pidfd hangs up once reaped, and
/// libdispatch mishandles hang-ups, see `DescriptorPoller`). The poller watches a duplicate of
/// the pidfd that only this wait owns and closes after the watch has ended: swift-subprocess
/// closes its own pidfd as soon as the run ends, and a watch left on that number would outlive
/// it (under load a later child's pidfd got the same number; with dispatch sources, which keep
/// one registration per descriptor number, its exit never fired: the child stayed a zombie and
/// its attempt `running` for good, about 1 spawn in 2,000 with both CPUs busy).
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
            let poller = DescriptorPoller.shared
            let token = poller.reserveToken()
            if poller.watch(own, token: token, queue: queue, handler: { latch.open() }) == nil {
                await latch.wait()
                poller.unwatch(token)
                close(own)
                return
            }
            close(own)
        }
        // No pidfd (older kernel, or out of descriptors) or epoll refused it: poll without reaping.
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
