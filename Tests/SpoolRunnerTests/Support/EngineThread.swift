import Foundation
import Synchronization

/// A task executor with its own thread, for the in-process engine.
///
/// The swift-testing pool is as wide as the cores (2 here), and the end-to-end tests block its
/// threads while they wait for the binary (`usleep` polling). An engine on that pool then waits
/// minutes for a thread in a full run; on its own thread (a task executor preference also
/// carries the default actors the task calls, the engine included) it runs as it would in
/// `spoolrunner serve`.
final class EngineThread: _Concurrency.TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(name: String) {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll()
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// One thread for every in-process engine of the test run (they are few and short).
    static let shared = EngineThread(name: "spoolrunner-test-engine")
}
