import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Ends the test process when a wait outlives every time bound: the cooperative pool is then
/// blocked (its threads all stuck in a blocking call), so no async time bound can fire, and the
/// suite would otherwise hang until CI kills it, with nothing said.
///
/// Runs on a thread of its own, outside the pool; aborting gives a core dump and a crash report
/// that names the test, instead of a silent hang.
final class PoolWatchdog: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(after limit: Duration, waiting what: String) {
        let done = self.done
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        Thread {
            guard done.wait(timeout: .now() + seconds) == .timedOut else { return }
            FileHandle.standardError.write(
                Data(
                    "PoolWatchdog: still waiting for \(what) after \(limit), and no async time bound fired: every thread of the cooperative pool is blocked. Aborting so the suite does not hang.\n"
                        .utf8))
            abort()
        }.start()
    }

    /// The wait ended: the watchdog's thread returns.
    func cancel() {
        done.signal()
    }
}
