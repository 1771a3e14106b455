import Foundation
import Logging
import ProcessDefinitions
import ServiceLifecycle

/// The daemon's schedule loop: a pass at each slot (and at least every second, so a reload or
/// a clock change is seen), off the engine actor. Stops at graceful shutdown: a runner that is
/// stopping submits nothing new.
package struct ScheduleService: Service {
    let scheduler: Scheduler
    let catalog: @Sendable () async -> DefinitionCatalog
    let onSubmitted: @Sendable () -> Void
    let onError: @Sendable (String) -> Void
    /// Whether this runner submits schedule slots now: always for a store of one runner; only
    /// while it leads for a fleet (SPEC §9).
    let isLeader: @Sendable () async -> Bool
    let logger: Logger

    /// - Parameters:
    ///   - catalog: the definitions in force now (they change on reload).
    ///   - onSubmitted: called after a pass dropped files (asks the engine to scan the inbox).
    ///   - onError: called with what went wrong when a pass fails (runner.json's last_error).
    package init(
        scheduler: Scheduler, logger: Logger, catalog: @escaping @Sendable () async -> DefinitionCatalog,
        onSubmitted: @escaping @Sendable () -> Void, onError: @escaping @Sendable (String) -> Void = { _ in },
        isLeader: @escaping @Sendable () async -> Bool = { true }
    ) {
        self.isLeader = isLeader
        self.onError = onError
        self.scheduler = scheduler
        self.catalog = catalog
        self.onSubmitted = onSubmitted
        self.logger = logger
    }

    package func run() async throws {
        var scheduler = self.scheduler
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let catalog = await self.catalog()
            do {
                if await isLeader() {
                    if try await scheduler.pass(catalog: catalog) > 0 { onSubmitted() }
                } else {
                    // Another runner leads and moves the entries on: read their state again
                    // from the store when this one leads.
                    scheduler.forgetStates()
                }
            } catch {
                logger.error("schedule pass failed; trying again in a second: \(error)")
                onError("schedule pass failed: \(error)")
            }
            var wait = 1.0
            if let next = scheduler.nextDue(catalog: catalog) {
                wait = min(wait, max(0.005, next.timeIntervalSince(scheduler.clock.now()) + 0.005))
            }
            let pause = wait
            let clock = scheduler.clock
            do {
                try await cancelWhenGracefulShutdown {
                    try await clock.sleep(.seconds(pause))
                }
            } catch {
                return
            }
        }
    }
}
