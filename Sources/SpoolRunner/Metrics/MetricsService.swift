import Foundation
import Logging
import ServiceLifecycle

/// Writes the metrics file every `interval` and once more at the end, as a service of the
/// runner's group.
///
/// Listed before the runner's own service, it is shut down after it (the group stops services
/// in reverse order): the last write comes after the engine recorded everything, at a
/// shutdown and at the end of `serve --once` alike. The first write is the caller's, before the
/// group starts, so that an unwritable path stops the runner at once with a clear message.
package struct MetricsService: Service {
    let metrics: RunnerMetrics
    let file: MetricsFile
    let interval: Duration
    let inbox: String
    let snapshot: @Sendable () async -> EngineMetricsSnapshot
    let scheduleLastRuns: @Sendable () async -> [String: Date]
    let logger: Logger

    package init(
        metrics: RunnerMetrics, file: MetricsFile, interval: Duration, inbox: String,
        snapshot: @escaping @Sendable () async -> EngineMetricsSnapshot,
        scheduleLastRuns: @escaping @Sendable () async -> [String: Date], logger: Logger
    ) {
        self.metrics = metrics
        self.file = file
        self.interval = interval
        self.inbox = inbox
        self.snapshot = snapshot
        self.scheduleLastRuns = scheduleLastRuns
        self.logger = logger
    }

    package func run() async throws {
        let failing =
            (await cancelWhenGracefulShutdown {
                var failing = false
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { break }
                    failing = await write(failing: failing)
                }
                return failing
            })
        _ = await write(failing: failing)
    }

    /// The first write, before the group starts: a path that cannot be written stops the runner
    /// with the error, instead of a runner that exports nothing.
    /// - Throws: `SpoolError.cannotWrite` naming the file.
    package func writeFirst() async throws(SpoolError) {
        await updateGauges()
        try file.write(metrics)
    }

    /// Updates the gauges and writes the file. A failure is logged when it starts and when it
    /// ends, not every interval. Returns whether this write failed.
    func write(failing: Bool) async -> Bool {
        await updateGauges()
        do {
            try file.write(metrics)
            if failing { logger.notice("metrics file written again", metadata: ["spool.file": "\(file.path)"]) }
            return false
        } catch {
            if !failing {
                logger.error("cannot write the metrics file: \(error)", metadata: ["spool.file": "\(file.path)"])
            }
            return true
        }
    }

    private func updateGauges() async {
        metrics.update(
            snapshot: await snapshot(), backlog: InboxBacklog.measure(inbox: inbox),
            scheduleLastRuns: await scheduleLastRuns())
    }
}
