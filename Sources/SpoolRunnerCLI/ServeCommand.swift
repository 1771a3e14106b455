import ArgumentParser
import Foundation
import Logging
import ProcessDefinitions
import Prometheus
import ServiceLifecycle
import SpoolRunner
import SpoolStore
import SpoolStorePostgres

#if canImport(Glibc)
import Glibc
#endif

/// `spoolrunner serve`: the long-running runner (or one pass with `--once`).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the runner: take requests from the inbox and run their processes.",
        discussion: """
            Without --once it runs until SIGTERM or SIGINT, then stops taking requests, lets \
            running tasks finish within --grace, records everything and exits 0; a second SIGINT \
            or SIGTERM stops the running tasks at once (SIGTERM, then SIGKILL; the next start \
            resumes them). SIGHUP reads the definitions again (running processes keep the \
            definition they started with). With --once it resumes unfinished processes, takes \
            what is in the inbox, runs every process to its end and exits (for cron and systemd \
            timers); an idle pass prints nothing.

            Logs go to standard error, one line per event, as logfmt (default) or JSON lines, \
            with process_id and task on every line about a process. Under systemd, when standard \
            error is the journal ($JOURNAL_STREAM), each line starts with its syslog priority \
            (<3> error ... <7> debug) instead of a timestamp, so `journalctl -p warning` works. \
            Colour only on a terminal, with TERM not dumb and NO_COLOR unset or empty.

            With --metrics-file the runner writes Prometheus metrics for node_exporter's textfile \
            collector (name the file *.prom in the collector's directory): at start, every \
            --metrics-interval, at shutdown and at the end of --once, replaced atomically with mode \
            0644. Counters are kept in the history store and never go down across restarts, \
            --once runs and prune; histograms start empty with each start.

            With --store (or SPOOLRUNNER_STORE) the runner joins a fleet sharing one PostgreSQL \
            store instead of the spool's SQLite file: each host keeps its own spool, accepts \
            what is dropped there, and runs whatever work any host accepted, as its free task \
            slots allow. Each runner holds its processes under a lease (--lease) that it renews \
            every lease/5; when renewals fail it stops its tasks before the lease runs out, and \
            another runner takes its processes over after it expires (SPEC §9). SIGTERM hands \
            the unfinished processes to the other runners at once. --max-tasks 0 makes an \
            intake-only runner. With --once and --store it takes back the unfinished processes \
            its runner id still owns, runs everything it accepts in this run to the end \
            (whatever --max-tasks; with --max-tasks 0 it hands them to the fleet), keeps its \
            lease while it runs, and exits; it takes no other work and never leads (schedules \
            are submitted by the fleet's long-running leader).

            With --prune-after DUR the runner forgets finished processes that ended more than \
            DUR ago, as `spoolrunner prune --older-than DUR` does, every DUR/2 (at least a minute \
            and at most an hour apart): history rows, status files, logs, work directories, and \
            rejections. Unfinished processes, and processes being retried, are never touched. \
            With --store the leader deletes them from the store, 10,000 per transaction, and \
            every runner removes its own spool's files of processes the store no longer has \
            (only files last changed more than DUR ago).
            """
    )

    @OptionGroup var spool: SpoolOptions
    @OptionGroup var definitions: DefinitionsOptions

    @Option(help: "Most tasks running at once (0 with --store: accept requests, never run them).")
    var maxTasks: Int = 16

    @Option(
        help:
            "Most accepted processes not yet ended held at once; more requests wait in inbox/ until some end (bounds memory under a big backlog)."
    )
    var maxLive: Int = EngineConfiguration.defaultMaxLiveProcesses

    @Option(
        help: ArgumentHelp(
            "Most processes whose changes one store transaction carries (group commit); more wait for the next transaction. 1 commits each process's changes alone (for benchmarks).",
            valueName: "N"))
    var commitBatch: Int = EngineConfiguration.defaultCommitBatch

    @OptionGroup var storeOptions: StoreOptions

    @Option(
        help: ArgumentHelp(
            "This runner's name in the store (default HOSTNAME-<first 6 hex digits of SPOOL/runner.id>).",
            valueName: "ID"))
    var runnerID: String?

    @Option(
        help: ArgumentHelp(
            "With --store: how long the store keeps this runner's processes without a renewal (at least 1s); a longer lease rides out a longer database outage, a shorter one hands work over sooner.",
            valueName: "DUR"))
    var lease: DurationArgument = DurationArgument(.seconds(15))

    @Option(help: ArgumentHelp("With --store: most pooled connections to the store.", valueName: "N"))
    var storePool: Int = 4

    @Option(
        help: ArgumentHelp(
            "With --store: on: LISTEN for work, cancels and status changes (found at once), and NOTIFY the other runners; off: neither (no LISTEN connection, no NOTIFY): work and cancels are found by polling every second, status changes by reconciliation.",
            valueName: "on|off"))
    var notify: NotifyMode = .on

    enum NotifyMode: String, ExpressibleByArgument, Sendable {
        case on, off
    }

    @Option(
        help: ArgumentHelp(
            "Delete finished processes that ended more than DUR ago (at least 1m), as `prune --older-than DUR` does, every DUR/2 (at least a minute, at most an hour apart). With --store the leader prunes the store and every runner removes its own spool's files of processes the store no longer has.",
            valueName: "DUR"))
    var pruneAfter: DurationArgument?

    @Flag(help: "Resume, take the inbox, run everything to its end, then exit.")
    var once = false

    @Option(help: ArgumentHelp("Full rescan interval of inbox/ and control/.", valueName: "DUR"))
    var rescan: DurationArgument = DurationArgument(.seconds(1))

    @Option(
        help: ArgumentHelp(
            "How long an unparsable inbox file may stay untouched before it is rejected.", valueName: "DUR"))
    var settle: DurationArgument = DurationArgument(.seconds(5))

    @Option(help: ArgumentHelp("How long running tasks may finish after SIGTERM.", valueName: "DUR"))
    var grace: DurationArgument = DurationArgument(.seconds(30))

    @Flag(
        help:
            "Do not use inotify (NFS and other filesystems without it): poll inbox/, control/ and the definitions directory every --rescan."
    )
    var noInotify = false

    @Option(help: "Largest accepted request file, in bytes.")
    var maxRequestBytes: Int = 1 << 20

    @Option(
        help: ArgumentHelp(
            "Lowest level logged: trace, debug, info, notice, warning, error (env SPOOLRUNNER_LOG_LEVEL).",
            valueName: "LEVEL"), completion: .list(["trace", "debug", "info", "notice", "warning", "error"]))
    var logLevel: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_LOG_LEVEL"] ?? "info"

    @Option(
        help: ArgumentHelp("Log line format: logfmt (key=value) or json (one object per line).", valueName: "FORMAT"))
    var logFormat: LogFormat = .logfmt

    @Option(
        help: ArgumentHelp(
            "Write Prometheus metrics to this file (node_exporter's textfile collector reads *.prom).",
            valueName: "PATH"), completion: .file(extensions: ["prom"]))
    var metricsFile: String?

    @Option(help: ArgumentHelp("How often --metrics-file is rewritten.", valueName: "DUR"))
    var metricsInterval: DurationArgument = DurationArgument(.seconds(15))

    func validate() throws {
        guard metricsInterval.duration > .zero else { throw ValidationError("--metrics-interval must be above 0") }
        let shared = try storeOptions.urlIfGiven() != nil
        if shared {
            if spool.db != nil || ProcessInfo.processInfo.environment["SPOOLRUNNER_DB"].map({ !$0.isEmpty }) == true {
                throw ValidationError(
                    "--db (or SPOOLRUNNER_DB) and --store (or SPOOLRUNNER_STORE) name two stores: give one of them")
            }
            guard maxTasks >= 0 else { throw ValidationError("--max-tasks must be 0 (intake only) or more") }
            guard lease.duration >= .seconds(1) else { throw ValidationError("--lease must be at least 1s") }
            guard storePool >= 1 else { throw ValidationError("--store-pool must be at least 1") }
            if let runnerID, runnerID.isEmpty || runnerID.count > 200 || runnerID.contains(where: \.isNewline) {
                throw ValidationError("--runner-id must be 1 to 200 characters on one line")
            }
        } else {
            guard maxTasks >= 1 else {
                throw ValidationError("--max-tasks must be at least 1 (0, intake only, needs --store)")
            }
        }
        if let pruneAfter {
            guard pruneAfter.duration >= EngineConfiguration.shortestPruneAfter else {
                throw ValidationError("--prune-after must be at least 1m")
            }
            guard !once else {
                throw ValidationError(
                    "--prune-after needs a long-running serve, not --once: run `spoolrunner prune --older-than DUR` from the same timer"
                )
            }
        }
        guard maxLive >= 1 else { throw ValidationError("--max-live must be at least 1") }
        guard commitBatch >= 1 else { throw ValidationError("--commit-batch must be at least 1") }
        guard maxRequestBytes >= 64 else { throw ValidationError("--max-request-bytes must be at least 64") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError(
                "--log-level (or SPOOLRUNNER_LOG_LEVEL) must be one of trace, debug, info, notice, warning, error; got '\(logLevel)'"
            )
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let destination = LogDestination.standardError()
        let format = logFormat
        LoggingSystem.bootstrap { _ in
            switch format {
            case .logfmt: LogfmtLogHandler(destination: destination, logLevel: level)
            case .json: JSONLogHandler(destination: destination, logLevel: level)
            }
        }
        let logger = Logger(label: "spoolrunner")
        // An idle `serve --once` from cron says nothing at info: the start-up lines are debug.
        let startLevel: Logger.Level = once ? .debug : .info
        if !once {
            // Before anything else: a SIGHUP (reload) in the first milliseconds must not kill us.
            signal(SIGHUP, SIG_IGN)
        }
        let layout = spool.layout
        do {
            try layout.create()
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let lock: SpoolLock
        do {
            lock = try SpoolLock(path: layout.lockFile)
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let catalog = DefinitionCatalog.load(directory: definitions.definitions)
        for error in catalog.errors {
            logger.error(
                "invalid definition (its requests will be rejected as unknown_process_type): \(error.description)")
        }
        for definition in catalog.definitions.values {
            for case let problem? in definition.schedule.map(\.inputsProblem) {
                logger.warning("schedule inputs will be rejected: \(problem.description)")
            }
        }
        logger.log(
            level: startLevel,
            "loaded \(catalog.definitions.count) definition(s) from \(definitions.definitions): \(catalog.definitions.keys.sorted().joined(separator: ", "))"
        )
        // One store per spool: another spool's store holds another runner's live processes.
        let identity: String
        do {
            identity = try SpoolIdentity.loadOrCreate(layout)
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        if let url = try storeOptions.urlIfGiven() {
            try await serveShared(
                url: url, identity: identity, layout: layout, catalog: catalog, logger: logger, startLevel: startLevel)
        } else {
            let store: SQLiteStore
            do {
                store = try SQLiteStore(path: spool.databasePath)
            } catch {
                throw fail(error)
            }
            do {
                try await store.bind(toSpool: identity, path: layout.root)
            } catch {
                throw fail(error)
            }
            try await serve(store: store, layout: layout, catalog: catalog, logger: logger, startLevel: startLevel)
        }
        withExtendedLifetime(lock) {}
    }

    /// Runs the engine and its services on `store` until shutdown (or the end of `--once`).
    func serve(
        store: any Store & StoreCoordination, layout: SpoolLayout, catalog: DefinitionCatalog, logger: Logger,
        startLevel: Logger.Level, configure: (inout EngineConfiguration) -> Void = { _ in }
    ) async throws {
        let clock: ScheduleClock
        do {
            clock = try ScheduleClock.fromEnvironment()
        } catch {
            throw fail(error.description, ExitCode.validationFailure)
        }
        let scheduler = Scheduler(layout: layout, store: store, clock: clock, logger: logger, once: once)
        // In a fleet the leader submits the schedules; a `--once` run never leads.
        if once && !store.sharesWork {
            // Before the engine's first scan: the slots that came due since the last pass are
            // then in the inbox like any dropped request.
            var pass = scheduler
            do {
                try await pass.pass(catalog: catalog)
            } catch {
                logger.error("schedule pass failed; its slots are submitted by the next run: \(error)")
            }
        }
        var configuration = EngineConfiguration(layout: layout, definitionsDirectory: definitions.definitions)
        configuration.maxTasks = maxTasks
        configuration.maxLiveProcesses = maxLive
        configuration.commitBatch = commitBatch
        configuration.once = once
        configuration.rescan = rescan.duration
        configuration.settle = settle.duration
        configuration.grace = grace.duration
        configuration.maxRequestBytes = maxRequestBytes
        configuration.scheduleClock = clock
        configuration.pruneAfter = pruneAfter?.duration
        if let text = ProcessInfo.processInfo.environment["SPOOLRUNNER_STATUS_CHECK"], !text.isEmpty {
            guard let every = DurationParser.parse(text), every > .zero else {
                throw fail(
                    "SPOOLRUNNER_STATUS_CHECK=\(text) is not a duration above 0 such as 5s or 1m",
                    ExitCode.validationFailure)
            }
            configuration.statusCheck = every
        }
        configure(&configuration)
        var metrics: RunnerMetrics?
        if metricsFile != nil {
            metrics = RunnerMetrics(registry: PrometheusCollectorRegistry())
            do {
                metrics?.seed(try await store.metricCounters())
            } catch {
                throw fail(error)
            }
        }
        let engine = ProcessEngine(
            configuration: configuration, store: store, catalog: catalog, logger: logger, metrics: metrics)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics, let metricsFile {
            let service = MetricsService(
                metrics: metrics, file: MetricsFile(path: metricsFile), interval: metricsInterval.duration,
                inbox: layout.inbox, snapshot: { await engine.metricsSnapshot() },
                scheduleLastRuns: {
                    do {
                        return try await store.scheduleLastRuns()
                    } catch {
                        logger.warning("metrics: cannot read the schedules' last runs: \(error)")
                        return [:]
                    }
                }, logger: logger)
            do {
                try await service.writeFirst()
            } catch {
                throw fail("--metrics-file: \(error.description)", ExitStatus.cannotCreate)
            }
            // Before the runner: the group stops services in reverse order, so the last write
            // comes after the engine recorded everything.
            services.append(.init(service: service))
        }
        services.append(
            .init(service: RunnerService(engine: engine), successTerminationBehavior: .gracefullyShutdownGroup))
        if !once {
            if noInotify {
                services.append(
                    .init(
                        service: DefinitionsPoller(directory: definitions.definitions, interval: rescan.duration) {
                            engine.requestReload()
                        }))
            } else {
                services.append(
                    .init(
                        service: InboxWatcher(directories: [layout.inbox, layout.control], logger: logger) {
                            engine.requestScan()
                        }))
                // A changed, added or removed definition file takes effect without SIGHUP.
                services.append(
                    .init(
                        service: InboxWatcher(
                            directories: [definitions.definitions], mask: InboxWatcher.editEvents,
                            names: DefinitionsPoller.isDefinitionFile, logger: logger
                        ) {
                            engine.requestReload()
                        }))
            }
            services.append(.init(service: ReloadSignal { engine.requestReload() }))
            services.append(
                .init(
                    service: ScheduleService(
                        scheduler: scheduler, logger: logger, catalog: { await engine.currentCatalog() },
                        onSubmitted: { engine.requestScan() },
                        onError: { engine.reportError($0) }, isLeader: { await engine.isLeader() })))
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
        logger.log(
            level: startLevel, "runner started",
            metadata: [
                "spool": "\(layout.root)", "pid": "\(ProcessInfo.processInfo.processIdentifier)", "once": "\(once)",
            ])
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            throw fail("stopped on an error: \(error)", ExitStatus.of(error))
        }
    }
}
