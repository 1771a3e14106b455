import Synchronization

/// The exit of a child process, awaited by suspending the test instead of blocking a thread.
///
/// Swift Testing runs every suite in one process, on a cooperative pool only as wide as the
/// machine's cores: a test that blocks a pool thread (polling with `usleep`, `waitUntilExit`)
/// takes that thread from every other test, and the in-process engine tests starve. Foundation
/// calls `Process.terminationHandler` on its own thread, which calls `exited()` here.
final class ChildExit: Sendable {
    private struct State {
        var exited = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var hasExited: Bool { state.withLock { $0.exited } }

    /// Marks the child as exited and resumes every waiter.
    func exited() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the child has exited, or as soon as the calling task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.exited || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Whether the child exited within `timeout` seconds.
    func wait(timeout: Double) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || hasExited
        }
    }
}
