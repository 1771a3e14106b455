import Foundation
import Logging
import ProcessDefinitions
import ServiceLifecycle
import SpoolRunner

/// The real engine on a temporary spool, inside this test process: the same `ProcessEngine`,
/// `SQLiteStore` file and status writer that `spoolrunner serve` assembles, run by a real
/// `ServiceGroup` through `RunnerService`, without spawning the binary.
///
/// Tests that check the engine's behaviour (intake, ordering, retry, timeouts, cancel, a
/// graceful shutdown) use it; tests of the binary itself (exit statuses, signals, crashes,
/// kill -9) keep `TemporarySpool.start`. Tasks still run as real child processes.
struct EngineHarness: Sendable {
    let spool: TemporarySpool
    let engine: ProcessEngine
    let store: SQLiteStore
    let group: ServiceGroup

    var layout: SpoolLayout { spool.layout }

    /// Drops a request (tmp/ then rename, as a client does).
    func drop(_ id: String, _ body: String) throws {
        try spool.drop(id, body)
    }

    /// Drops a control message the way `spoolrunner cancel/retry` does.
    @discardableResult
    func control(_ action: ControlMessage.Action, _ processID: String) throws -> String {
        try RequestDropper(layout: layout).control(ControlMessage(action: action, processID: processID))
    }

    /// The status document of `id`, if its file exists and reads as one.
    func status(_ id: String) -> StatusDocument? {
        spool.status(id)
    }

    /// Waits without blocking a thread until `condition` holds or `timeout` seconds pass;
    /// returns whether it held.
    func eventually(timeout: Double = 30, _ condition: () async -> Bool) async -> Bool {
        await spool.eventually(timeout: timeout, condition)
    }

    /// Starts the group's graceful shutdown now (what SIGTERM does), inside the body; `withEngine`
    /// still waits for the engine's end after the body.
    func shutdown() async {
        await group.triggerGracefulShutdown()
    }
}

/// What the harness's engine is configured with, before `configure` changes it: a short rescan
/// so a test never waits for a missed inotify event.
private func harnessConfiguration(_ spool: TemporarySpool, once: Bool) -> EngineConfiguration {
    var configuration = EngineConfiguration(layout: spool.layout, definitionsDirectory: spool.definitions.path)
    configuration.once = once
    configuration.rescan = .milliseconds(100)
    configuration.grace = .seconds(10)
    return configuration
}

/// The engine, its store and the service group that runs it, as `ServeCommand.run` builds them.
private func assemble(
    _ spool: TemporarySpool, once: Bool, inotify: Bool = true, configure: (inout EngineConfiguration) -> Void
) async throws -> (EngineHarness, ServiceGroup, SpoolLock) {
    let layout = spool.layout
    let lock = try SpoolLock(path: layout.lockFile)
    // Log lines go nowhere: the tests assert on status files and store rows, not on logs.
    let logger = Logger(label: "spoolrunner-test") { _ in SwiftLogNoOpLogHandler() }
    let catalog = DefinitionCatalog.load(directory: spool.definitions.path)
    let store = try SQLiteStore(path: layout.defaultDatabase)
    try await store.bind(toSpool: try SpoolIdentity.loadOrCreate(layout), path: layout.root)
    var configuration = harnessConfiguration(spool, once: once)
    configure(&configuration)
    let engine = ProcessEngine(configuration: configuration, store: store, catalog: catalog, logger: logger)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: RunnerService(engine: engine), successTerminationBehavior: .gracefullyShutdownGroup)
    ]
    if !once {
        if inotify {
            services.append(
                .init(
                    service: InboxWatcher(directories: [layout.inbox, layout.control], logger: logger) {
                        engine.requestScan()
                    }))
        }
        let scheduler = Scheduler(layout: layout, store: store, clock: configuration.scheduleClock, logger: logger)
        services.append(
            .init(
                service: ScheduleService(
                    scheduler: scheduler, logger: logger, catalog: { await engine.currentCatalog() },
                    onSubmitted: { engine.requestScan() }, onError: { engine.reportError($0) },
                    isLeader: { await engine.isLeader() })))
    }
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
    return (EngineHarness(spool: spool, engine: engine, store: store, group: group), group, lock)
}

/// Runs the engine on `spool` (like `serve` without `--once`: with the inbox watcher, unless
/// `inotify` is false, and the schedule loop) while `body` runs, then triggers the group's
/// graceful shutdown (what SIGTERM does) and waits until the engine recorded everything and
/// returned. An error the engine stopped with is rethrown; an engine still running 60 s after
/// the shutdown fails the test (`EngineDidNotStop`) instead of hanging it.
func withEngine<T: Sendable>(
    _ spool: TemporarySpool, inotify: Bool = true, configure: (inout EngineConfiguration) -> Void = { _ in },
    _ body: (EngineHarness) async throws -> T
) async throws -> T {
    let (harness, group, lock) = try await assemble(spool, once: false, inotify: inotify, configure: configure)
    defer { withExtendedLifetime(lock) {} }
    let run = EngineRun(group)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(harness))
    } catch {
        result = .failure(error)
    }
    await group.triggerGracefulShutdown()
    guard let ending = await run.ending(within: .seconds(60)) else {
        run.cancel()
        throw EngineDidNotStop(
            what: "the engine did not stop within 60 s of its graceful shutdown",
            state: await harness.engine.diagnosis())
    }
    try ending.get()
    return try result.get()
}

/// The engine did not end when it should have; `state` is what it held then.
struct EngineDidNotStop: Error, CustomStringConvertible {
    var what: String
    var state: String
    var description: String { "\(what): \(state)" }
}

/// One pass of the engine on `spool`, like `serve --once`: resume, take the inbox, run every
/// process to its end, return. Returns the harness to read the store with afterwards.
///
/// A pass still running after `limit` fails the test (`EngineDidNotStop`) instead of hanging
/// it: the engine is shut down (and cancelled, if that does not end it either) and left behind.
@discardableResult
func runEngineOnce(
    _ spool: TemporarySpool, limit: Duration = .seconds(60), configure: (inout EngineConfiguration) -> Void = { _ in }
) async throws -> EngineHarness {
    let (harness, group, lock) = try await assemble(spool, once: true, configure: configure)
    defer { withExtendedLifetime(lock) {} }
    let run = EngineRun(group)
    if let ending = await run.ending(within: limit) {
        try ending.get()
        return harness
    }
    let state = await harness.engine.diagnosis()
    await group.triggerGracefulShutdown()
    let stopped = await run.ending(within: .seconds(15)) != nil
    run.cancel()
    throw EngineDidNotStop(
        what:
            "the --once pass did not end within \(limit)\(stopped ? "" : ", nor 15 s after a graceful shutdown")",
        state: state)
}
