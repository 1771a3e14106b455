import ServiceLifecycle

/// A service group running in a task of its own, which a test waits for with a time bound.
///
/// Awaiting `group.run()` inside the test (or in a child of a task group, which its scope must
/// await) hangs the test, and with it the suite, when the engine never returns: a child task
/// that ignores cancellation is waited for all the same. Here the run is an unstructured task,
/// and a wait that runs out of time returns nil instead; the test then fails and the engine is
/// cancelled and left behind.
actor EngineRun {
    private var ending: Result<Void, any Error>?
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private let run: Task<Result<Void, any Error>, Never>

    init(_ group: ServiceGroup) {
        let run = Task<Result<Void, any Error>, Never> {
            do {
                try await group.run()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        self.run = run
        Task { await self.finish(await run.value) }
    }

    private func finish(_ result: Result<Void, any Error>) {
        ending = result
        for waiter in waiters.values { waiter.resume() }
        waiters.removeAll()
    }

    private func timeOut(_ waiter: Int) {
        waiters.removeValue(forKey: waiter)?.resume()
    }

    /// How the group's run ended (returned or threw), if it ended within `limit`; nil otherwise.
    func ending(within limit: Duration) async -> Result<Void, any Error>? {
        if let ending { return ending }
        let waiter = nextWaiter
        nextWaiter += 1
        let timer = Task {
            try? await Task.sleep(for: limit)
            self.timeOut(waiter)
        }
        // The timer above needs a thread of the cooperative pool; if the engine blocked every
        // one of them, nothing async can end the wait, and only a thread of its own can stop the
        // suite from hanging.
        let watchdog = PoolWatchdog(after: limit + .seconds(60), waiting: "the engine's end")
        await withCheckedContinuation { waiters[waiter] = $0 }
        watchdog.cancel()
        timer.cancel()
        return ending
    }

    /// Cancels the run: given up on, it must not go on taking requests.
    nonisolated func cancel() {
        run.cancel()
    }
}
