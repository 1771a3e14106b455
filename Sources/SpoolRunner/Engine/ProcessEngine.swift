import Foundation
import Logging
import ProcessDefinitions
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The runner's heart: owns every live process and every running task attempt.
///
/// One loop takes a batch of events (files dropped, tasks ended, timers, control messages),
/// applies them to the in-memory processes, commits every change of the batch in one durable
/// transaction, rewrites the status files that changed, and only then starts the tasks that
/// became ready: a task is always recorded as started before it is spawned (SPEC §6).
public actor ProcessEngine {
    let configuration: EngineConfiguration
    let store: any Store
    /// Who holds which process when runners share the store (SPEC §9); the store itself for
    /// SQLite, whose one runner holds everything.
    let coordination: any StoreCoordination
    /// The runner's standing in a fleet: lease, leadership, claims.
    var fleet = FleetState()
    let logger: Logger
    /// The definitions requests are checked against; reloaded on SIGHUP. A live process keeps
    /// the definition it was accepted (or resumed) with.
    var catalog: DefinitionCatalog
    let intake: RequestIntake
    let rejector: Rejector
    let statusWriter: StatusWriter
    let statusPublisher: StatusPublisher
    let launchBuilder: TaskLaunchBuilder
    let executor: any TaskExecuting
    let events: EventQueue
    /// What the runner is waiting out (a busy or full store, a full disk); shared with the
    /// status writer and the executors.
    let pause: RunnerPause
    let startedAt = Date()
    /// The metrics file's registry (`serve --metrics-file`), when there is one.
    let metrics: RunnerMetrics?

    var layout: SpoolLayout { configuration.layout }

    /// Live (unfinished) processes by id.
    var processes: [String: ProcessRun] = [:]
    var ready = ReadyQueue()
    /// Running attempts and the handle that stops each.
    var running: [AttemptKey: StopHandle] = [:]
    /// The same handles, for the lease keeper to stop without waiting for the loop.
    let liveAttempts = LiveAttempts()
    var runningProcessesByType: [String: Int] = [:]
    var nextSequence = 0
    /// Processes changed by the current batch.
    var touched: Set<String> = []
    var pendingRejections: [RejectionRecord] = []
    /// Files to remove once the batch is committed (accepted requests, handled control messages).
    var filesToRemove: [String] = []
    var timersToArm: [(Duration, EngineEvent)] = []
    /// Tasks recorded as started and not yet handed to the store writer with their batch.
    var launches: [CommitInFlight.Launch] = []
    var stopping = false
    var initialScanDone = false
    /// Whether any task started: an idle `--once` pass ends without an info line.
    var startedAnyTask = false
    /// Set by `.scan` events; one scan per batch however many events asked for it.
    var scanWanted = false
    /// A `--prune-after` pass due on a store of one runner: prune what ended before this.
    var pruneDueBefore: Date?
    /// A reload is being read off the engine; `reloadAgain` asks for one more after it (a
    /// change that came while the files were being read).
    var reloadInFlight = false
    var reloadAgain = false
    var reloadToStart = false
    /// Reloaded definitions a shared store must record before the next commit.
    var definitionsToRecord: DefinitionCatalog?
    var sessionID: Int64?
    /// The runner session before this one: whether it stopped cleanly decides crash counting.
    var previousSession: RunnerSessionRecord?
    /// When the first session of the crashes in a row before this one started (`SessionStart`).
    var uncleanSince: Date?
    /// Processes changed since their last hand-over to the store writer (including those of a
    /// batch whose commit failed): the next batch takes them.
    var uncommittedIDs: Set<String> = []
    /// The batch the store writer is committing; the engine gathers the next one meanwhile.
    var commitInFlight: CommitInFlight?
    /// Files queued for removal after their batch's commit: scans leave them alone meanwhile.
    var removalPending: Set<String> = []
    /// For each file queued for removal, the process whose batch must be durable first.
    var removalOwners: [String: String] = [:]
    /// Something waits for the next durable commit to be looked at again (a control message
    /// about a process whose end is being committed): a scan follows that commit.
    var deferredUntilCommit = false
    /// Whether the next flush may try the store again (false while backing off after a failure).
    var commitRetryDue = true
    var commitBackoff = Backoff(initial: 0.25, maximum: 5)
    var probeBackoff = Backoff(initial: 0.5, maximum: 5)
    var probeArmed = false
    var graceOver = false
    /// SIGTERM came: the start-up's waits for the store give up.
    let shutdownRequested = Atomic<Bool>(false)
    /// What is left of the last listing of `inbox/`, in order: scans take from it, and list
    /// again only once it is used up.
    var inboxListing: ArraySlice<String> = []
    /// Intake stopped at `--max-live`: a scan follows the commit that ends a process.
    var intakeHeldAtCap = false
    /// Inbox files not yet parsable and younger than `--settle`, with when to look again.
    var unsettled: [String: Double] = [:]
    static let unsettledRecheck = 0.25
    /// How often running children are checked for an exit the watcher missed.
    static let exitSweepInterval: Duration = .seconds(2)
    /// When each unsettled inbox / control file was first seen as it is (SPEC §3 `--settle`).
    var inboxSettle = SettleTracker()
    var controlSettle = SettleTracker()
    /// Files rejected but not moved out (rejected/ refused them), by name (`control/` prefixed
    /// for control messages): not judged again while unchanged.
    var unmovable: [String: FileIdentity] = [:]
    /// `inbox/` or `control/` found replaced by a symlink: not scanned, reported once.
    var refusedDirectories: Set<String> = []
    /// Request files the last inbox scan left for a later batch, and since when there have
    /// been some: runner.json's backlog comes from this bookkeeping, not from listing inbox/.
    var inboxBacklog = 0
    var inboxBacklogSince: Date?
    /// The last error the runner hit, for runner.json.
    var lastError: (at: Date, message: String)?
    /// Heartbeats handled: the systemd watchdog is pinged from the loop, so a hung loop stops it.
    var heartbeats = 0

    struct AttemptKey: Hashable, Sendable {
        var processID: String
        var index: Int
    }

    public init(
        configuration: EngineConfiguration, store: any Store & StoreCoordination, catalog: DefinitionCatalog,
        logger: Logger, metrics: RunnerMetrics? = nil
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.store = store
        self.coordination = store
        self.catalog = catalog
        self.logger = logger
        let events = EventQueue()
        self.events = events
        let pause = RunnerPause(logger: logger) { events.post(.pauseChanged) }
        self.pause = pause
        if let makeExecutor = configuration.taskExecutor {
            self.executor = makeExecutor(pause)
        } else {
            var executor = TaskExecutor(pause: pause)
            // A fenced runner's tasks must be dead before its lease ends in the store: SIGKILL half
            // a margin (lease/3) after the SIGTERM.
            executor.fenceKillGrace = configuration.lease / 6
            self.executor = executor
        }
        let statusWriter = StatusWriter(layout: configuration.layout)
        self.statusWriter = statusWriter
        self.statusPublisher = StatusPublisher(
            writer: statusWriter, reconciler: StatusReconciler(store: store, layout: configuration.layout),
            pause: pause, logger: logger, interval: configuration.statusCheck.seconds)
        self.intake = RequestIntake(
            maxRequestBytes: configuration.maxRequestBytes,
            settle: configuration.settle.seconds, allowsNUL: !store.sharesWork)
        self.rejector = Rejector(layout: configuration.layout, statusPublisher: statusPublisher)
        self.launchBuilder = TaskLaunchBuilder(layout: configuration.layout)
        if let error = catalog.errors.last {
            self.lastError = (Date(), "invalid definition: \(error.description)")
        }
    }

    /// Asks the engine to stop taking requests and finish (SIGTERM, SIGINT).
    public nonisolated func requestShutdown() {
        shutdownRequested.store(true, ordering: .relaxed)
        events.post(.shutdown)
    }

    /// A second SIGINT/SIGTERM during the grace: stop running tasks now, exactly as at the end of
    /// the grace (SIGTERM, then SIGKILL), and exit once they are recorded.
    public nonisolated func requestStopNow() {
        events.post(.shutdown)
        events.post(.graceExpired)
    }

    /// Asks the engine to read the definitions directory again (SIGHUP, `systemctl reload`).
    public nonisolated func requestReload() {
        events.post(.reloadDefinitions)
    }

    /// The definitions in force now (they change on reload), for the schedule loop.
    public func currentCatalog() -> DefinitionCatalog {
        catalog
    }

    /// Records an error hit outside the engine (the schedule loop) for runner.json's last_error.
    public nonisolated func reportError(_ message: String) {
        events.post(.errorReported(message, Date()))
    }

    /// Asks for an immediate look at inbox/ and control/ (inotify).
    public nonisolated func requestScan() {
        events.post(.scan)
    }

    /// Runs until shutdown (or, with `once`, until the inbox is taken and every process ended).
    ///
    /// A busy or full store, a full disk, are waited out (see `RunnerPause`), not reasons to stop.
    /// - Throws: `StoreError` when the store cannot be written for another reason (corrupt,
    ///   unreadable), or is still unavailable at the end of a shutdown's grace: the runner must
    ///   stop, and the next start recovers from the last commit.
    public func run() async throws {
        try await beginSession()
        if coordination.sharesWork { try await recordDefinitions(catalog) }
        try await recover()
        statusPublisher.startReconciling()
        try await withThrowingDiscardingTaskGroup { group in
            let events = self.events
            let heartbeat = Self.heartbeatInterval(configuration.heartbeat)
            // The heartbeat and the rescan pace the runner on the engine's clock (a test moves
            // them by hand); they are children of this group, so they end with the loop, which
            // ends after a graceful shutdown has recorded everything.
            let clock = configuration.clock
            group.addTask {
                while !Task.isCancelled {
                    try? await clock.sleep(heartbeat)
                    if !Task.isCancelled { events.post(.heartbeat) }
                }
            }
            // The safety net under the exit watcher: an exit whose event never came is found
            // by looking at each running child, and logged, since it should not happen.
            let logger = self.logger
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.exitSweepInterval)
                    for pid in ProcessExitWatcher.shared.sweep() {
                        logger.warning(
                            "missed exit of task process \(pid): its exit event never came; the periodic sweep ended its wait"
                        )
                    }
                }
            }
            if coordination.sharesWork { startFleetTasks(in: &group) }
            startPruning(in: &group)
            if !configuration.once {
                let rescan = configuration.rescan
                group.addTask {
                    while !Task.isCancelled {
                        try? await clock.sleep(rescan)
                        if !Task.isCancelled { events.post(.scan) }
                    }
                }
            }
            events.post(.scan)
            writeHeartbeat()
            SystemdNotifier.notify("READY=1\nSTATUS=taking requests from \(layout.inbox)")
            while true {
                guard let batch = await events.next() else {
                    // Cancelled (not a graceful shutdown): stop every task now; what they did
                    // after the last commit is recovered by the next start (SPEC §6).
                    logger.warning("the runner's task was cancelled: stopping \(running.count) running task(s) now")
                    for handle in running.values { handle.stop(.shutdown) }
                    break
                }
                let now = configuration.clock.now()
                // The store writer's answer first: the side effects of the batch it made durable
                // (removals, status files, spawns) come before anything newer.
                var toSpawn: [CommitInFlight.Launch] = []
                for event in batch {
                    if case .committed(let result) = event { toSpawn += try await commitFinished(result) }
                }
                for event in batch {
                    handle(event, now: now)
                }
                // While paused, requests wait in inbox/ and control/; the scan comes when it clears.
                if let fresh = definitionsToRecord {
                    definitionsToRecord = nil
                    try? await recordDefinitions(fresh)
                }
                if scanWanted, !pause.isPaused {
                    scanWanted = false
                    await scan(now: now)
                }
                if let cutoff = pruneDueBefore, !stopping {
                    pruneDueBefore = nil
                    do {
                        try await pruneHistory(before: cutoff)
                    } catch {
                        logger.warning("prune: the store could not be pruned; trying again at the next pass: \(error)")
                        lastError = (now, "prune: \(error)")
                    }
                }
                if fleet.claimWanted { await claimWork(now: now) }
                advanceTouched(now: now)
                let started = pause.isPaused ? [] : markReadyTasksStarted(now: now)
                if !started.isEmpty { startedAnyTask = true }
                prepareLaunches(started)
                uncommittedIDs.formUnion(touched)
                touched.removeAll(keepingCapacity: true)
                // One durable commit per batch, off the engine: ended tasks, accepted requests,
                // and the starts above, which are therefore recorded before their spawn. While
                // it commits, the loop goes on gathering the next batch.
                if let commit = takeBatch() {
                    if commit.batch.isEmpty {
                        // Only files to remove: nothing for the store, and every earlier batch
                        // is durable.
                        toSpawn += try await commitFinished(.success(.empty))
                    } else {
                        let store = self.store
                        let batch = commit.batch
                        group.addTask {
                            let result: Result<CommitOutcome, StoreError>
                            do throws(StoreError) {
                                result = .success(try await store.commit(batch))
                            } catch {
                                result = .failure(error)
                            }
                            events.post(.committed(result))
                        }
                    }
                }
                armProbeIfNeeded()
                for (delay, event) in timersToArm {
                    group.addTask {
                        try? await clock.sleep(delay)
                        if !Task.isCancelled { events.post(event) }
                    }
                }
                timersToArm.removeAll()
                if reloadToStart {
                    reloadToStart = false
                    let directory = configuration.definitionsDirectory
                    let limit = configuration.definitionLoadLimit
                    group.addTask {
                        let catalog = await DefinitionReloader.load(directory: directory, limit: limit)
                        if !Task.isCancelled { events.post(.definitionsLoaded(catalog)) }
                    }
                }
                for (launch, key, handle) in toSpawn {
                    if let reason = handle.reason {
                        // Stopped (cancel, shutdown) while its start waited for the store.
                        events.post(
                            .taskEnded(
                                processID: key.processID, index: key.index, attempt: launch.attempt,
                                outcome: TaskExecutor.stopped(reason, launch: launch)))
                        continue
                    }
                    let executor = self.executor
                    group.addTask {
                        let outcome = await executor.run(launch, stop: handle) { pid, ticks in
                            events.post(
                                .taskSpawned(
                                    processID: key.processID, index: key.index, attempt: launch.attempt, pid: pid,
                                    startTicks: ticks))
                        }
                        events.post(
                            .taskEnded(
                                processID: key.processID, index: key.index, attempt: launch.attempt,
                                outcome: outcome))
                    }
                }
                if isDone { break }
            }
            group.cancelAll()
        }
        await statusPublisher.stop()
        if hasUncommitted {
            let condition = pause.active.first { $0.source == .store }
            throw StoreError(
                condition?.reason == .storeFull ? .full : .busy, location: store.location, operation: "stop",
                message:
                    "stopped with changes not recorded: \(condition?.message ?? "the store cannot be written"); the next start resumes from the last commit"
            )
        }
        try await leaveFleet()
        try await endSession()
        writeHeartbeat(stopped: true)
        logger.log(
            level: configuration.once && !startedAnyTask ? .debug : .info, "runner stopped",
            metadata: ["unfinished": "\(processes.count)"])
    }

    var isDone: Bool {
        // Stopping waits for the store to take what is uncommitted, for at most the grace.
        // A commit in flight is always waited for: its side effects must not be lost.
        if commitInFlight != nil { return false }
        if stopping { return running.isEmpty && (!hasUncommitted || graceOver) }
        if configuration.once {
            return initialScanDone && running.isEmpty && processes.isEmpty && !hasPendingCommitWork
        }
        return false
    }

    // MARK: - Events

    func handle(_ event: EngineEvent, now: Date) {
        switch event {
        case .scan:
            scanWanted = true
        case .taskSpawned(let processID, let index, let attempt, let pid, let ticks):
            processes[processID]?.taskSpawned(
                index, attempt: attempt, pid: pid, startTicks: ticks, now)
            touched.insert(processID)
        case .taskEnded(let processID, let index, let attempt, let outcome):
            let key = AttemptKey(processID: processID, index: index)
            let handle = running.removeValue(forKey: key)
            if let handle { liveAttempts.remove(handle) }
            // A slot is free: a shared store may have work for it.
            if coordination.sharesWork { fleet.claimWanted = true }
            // Stopped because the lease was lost: the process is no longer this runner's.
            if handle?.reason == .leaseLost { return }
            if handle?.reason == .shutdown {
                // Left `running` in the store on purpose: the next start treats it exactly like
                // a task interrupted by a crash (run again if idempotent, else `interrupted`).
                logger.notice(
                    "task stopped by shutdown; the next start resumes it",
                    metadata: [
                        "process.id": "\(processID)",
                        "task.name": "\(processes[processID]?.tasks[index].taskName ?? "?")",
                    ])
                return
            }
            let taskName = processes[processID]?.tasks[index].taskName ?? "?"
            let outcome = outcome.storable(task: taskName, allowsNUL: intake.allowsNUL)
            if let failure = outcome.failure, failure.code == .invalidJSON {
                logger.error(
                    "task output cannot be stored: \(failure.message)",
                    metadata: ["process.id": "\(processID)", "task.name": "\(taskName)"])
            }
            if let due = processes[processID]?.taskEnded(index, attempt: attempt, outcome: outcome, now: now) {
                timersToArm.append(
                    (.seconds(max(0, due.timeIntervalSince(now))), .retryDue(processID: processID, index: index)))
            }
            touched.insert(processID)
        case .retryDue(let processID, let index):
            guard processes[processID]?.tasks[index].status == .retrying else { return }
            processes[processID]?.dueRetries.insert(index)
            touched.insert(processID)
        case .processTimeout(let processID, let generation):
            guard let indexes = processes[processID]?.timedOut(now, armedFor: generation) else {
                return
            }
            for index in indexes { running[AttemptKey(processID: processID, index: index)]?.stop(.processTimeout) }
            touched.insert(processID)
        case .heartbeat:
            heartbeats += 1
            EngineHang.checkpoint(heartbeat: heartbeats)
            writeHeartbeat()
            notifySystemd()
            // Off the loop: the checkpoint runs on the store's writer while events go on.
            Task { [store] in await store.checkpoint() }
        case .shutdown:
            guard !stopping else { return }
            stopping = true
            SystemdNotifier.notify("STOPPING=1")
            logger.notice(
                "shutdown requested: taking no new request or task; \(running.count) running task(s) may finish within \(DurationParser.format(configuration.grace))"
            )
            if !running.isEmpty || hasUncommitted || commitInFlight != nil {
                timersToArm.append((configuration.grace, .graceExpired))
            }
        case .reloadDefinitions:
            if reloadInFlight {
                reloadAgain = true
            } else {
                reloadInFlight = true
                reloadToStart = true
            }
        case .definitionsLoaded(let fresh):
            if reloadAgain {
                // The files changed again while they were read: this result may be stale, and
                // installing it would announce a reload that missed the change. Read again.
                reloadAgain = false
                reloadToStart = true
            } else {
                reloadInFlight = false
                installReloaded(fresh)
                if coordination.sharesWork, let fresh { definitionsToRecord = fresh }
            }
        case .errorReported(let message, let at):
            lastError = (at, message)
        case .graceExpired:
            if !running.isEmpty {
                logger.notice(
                    "stopping \(running.count) running task(s) now: SIGTERM, then SIGKILL after 5 s; the next start resumes them"
                )
            }
            graceOver = true
            for handle in running.values { handle.stop(.shutdown) }
        case .retryCommit:
            commitRetryDue = true
        case .pauseChanged:
            writeHeartbeat()
            // Cleared: take what waited in inbox/ and control/ now, not at the next rescan.
            if !pause.isPaused { scanWanted = true }
        case .probe:
            probeArmed = false
            probeClearedConditions()
        case .committed:
            // Taken before the other events of the batch (`commitFinished`).
            break
        case .pruneDue(let before):
            pruneDueBefore = before
        case .fleet(let event):
            handleFleet(event, now: now)
        }
    }

    func scan(now: Date) async {
        guard !stopping else { return }
        await scanControl(now: now)
        if configuration.once && initialScanDone { return }
        let more = await scanInbox(now: now)
        if more {
            events.post(.scan)
        } else if !intakeHeldAtCap, inboxListing.isEmpty {
            initialScanDone = true
        }
    }

    /// Installs the definitions a reload (SIGHUP, or a change seen by the definitions watcher)
    /// read off the engine. A file that is now invalid keeps the version loaded before, reported
    /// in the log and runner.json; a removed file removes its type; live processes keep their
    /// definition. A reload that overran its time bound, or a definitions directory that cannot
    /// be read, changes nothing.
    func installReloaded(_ fresh: DefinitionCatalog?) {
        guard let fresh else {
            let message =
                "reloading definitions from \(configuration.definitionsDirectory) took longer than \(DurationParser.format(configuration.definitionLoadLimit)); keeping the definitions already loaded. Check the files with `spoolrunner validate`"
            logger.error("\(message)")
            lastError = (Date(), message)
            return
        }
        if fresh.definitions.isEmpty,
            let error = fresh.errors.first(where: { $0.file == configuration.definitionsDirectory })
        {
            logger.error("cannot reload definitions: \(error.description); keeping the definitions already loaded")
            lastError = (Date(), "cannot reload definitions: \(error.description)")
            return
        }
        let (merged, kept) = fresh.keepingPrevious(catalog)
        for error in fresh.errors {
            if kept.contains(DefinitionLoader.processType(ofFile: error.file)) {
                logger.error("invalid definition, the previous version stays in force: \(error.description)")
            } else {
                logger.error(
                    "invalid definition (its requests will be rejected as unknown_process_type): \(error.description)")
            }
            lastError = (Date(), "invalid definition: \(error.description)")
        }
        catalog = merged
        logger.notice(
            "definitions reloaded: \(merged.definitions.keys.sorted().joined(separator: ", "))",
            metadata: ["errors": "\(fresh.errors.count)"])
        writeHeartbeat()
    }

    /// Applies the ordering rule to every process the batch changed.
    func advanceTouched(now: Date) {
        for processID in touched {
            guard var run = processes[processID] else { continue }
            let wasRunning = run.record.status == .running
            let newlyReady = run.advance(now: now)
            for index in newlyReady {
                ready.insert(.init(sequence: run.sequence, index: index, processID: processID))
            }
            if run.record.status.isFinal, wasRunning {
                runningProcessesByType[run.record.processType, default: 1] -= 1
            }
            processes[processID] = run
        }
    }

    // MARK: - Starting tasks

    /// Picks ready tasks up to `--max-tasks` and each type's `concurrency` and marks them
    /// started; the caller commits before `prepareLaunches` queues their spawns.
    func markReadyTasksStarted(now: Date) -> [AttemptKey] {
        guard !stopping else { return [] }
        var deferred: [ReadyQueue.Entry] = []
        var started: [AttemptKey] = []
        while running.count + started.count < configuration.maxTasks, let entry = ready.popMin() {
            guard var run = processes[entry.processID], !run.record.status.isFinal, run.queued.contains(entry.index)
            else { continue }
            // Accepted here for another runner of the fleet: handed over after its commit.
            if fleet.releaseAfterCommit.contains(entry.processID) {
                deferred.append(entry)
                continue
            }
            let status = run.tasks[entry.index].status
            guard status == .pending || status == .retrying else {
                processes[entry.processID]?.queued.remove(entry.index)
                continue
            }
            if run.record.status == .pending {
                let type = run.record.processType
                if let limit = run.definition.concurrency, runningProcessesByType[type, default: 0] >= limit {
                    deferred.append(entry)
                    continue
                }
                runningProcessesByType[type, default: 0] += 1
                run.markStarted(now)
                if let timeout = run.definition.timeout {
                    timersToArm.append(
                        (timeout, .processTimeout(processID: run.processID, generation: run.startGeneration)))
                }
            }
            run.taskStarted(entry.index, now)
            processes[entry.processID] = run
            touched.insert(entry.processID)
            started.append(AttemptKey(processID: entry.processID, index: entry.index))
        }
        for entry in deferred { ready.insert(entry) }
        return started
    }

    /// Builds the launch of each task just recorded as started; the loop spawns them.
    func prepareLaunches(_ started: [AttemptKey]) {
        for key in started {
            guard let run = processes[key.processID] else { continue }
            let handle = StopHandle()
            running[key] = handle
            liveAttempts.insert(handle)
            do {
                let launch = try launchBuilder.build(run, index: key.index)
                launches.append((launch, key, handle))
            } catch {
                events.post(
                    .taskEnded(
                        processID: key.processID, index: key.index, attempt: run.tasks[key.index].attempts,
                        outcome: TaskOutcome(failure: error.failure)))
            }
        }
    }
}
