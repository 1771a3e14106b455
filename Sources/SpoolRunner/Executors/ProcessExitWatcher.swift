import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Waits for a child to exit without reaping it (swift-subprocess reaps it afterwards).
///
/// A pidfd becomes readable when its process exits, so the wait is an epoll event through a
/// dispatch source, not a poll loop. Without a pidfd it falls back to polling `waitid(WNOWAIT)`.
enum ProcessExitWatcher {
    static func waitForExit(pid: Int32, pidfd: Int32) async {
        if pidfd >= 0 {
            let queue = DispatchQueue(label: "spoolrunner.exit")
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: queue)
                source.setEventHandler {
                    source.cancel()
                    continuation.resume()
                }
                source.resume()
            }
            return
        }
        var interval = 1
        while !ProcessInspector.hasExited(pid) {
            try? await Task.sleep(for: .milliseconds(interval))
            interval = min(interval * 2, 50)
        }
    }
}
