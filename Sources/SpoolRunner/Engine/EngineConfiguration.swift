/// How the engine runs: limits, timings and mode, from the `serve` command line.
public struct EngineConfiguration: Sendable {
    public var layout: SpoolLayout
    public var definitionsDirectory: String
    /// Running tasks at once, all processes together (`--max-tasks`).
    public var maxTasks: Int = 16
    /// Take what is in the inbox, run every process to its end, then return (`--once`).
    public var once: Bool = false
    /// `--max-request-bytes`.
    public var maxRequestBytes: Int = 1 << 20
    /// `--settle`: how long an unparsable inbox file may stay untouched before it is rejected.
    public var settle: Duration = .seconds(5)
    /// `--rescan`: full scan of inbox/ and control/ at this interval (inotify catches the rest).
    public var rescan: Duration = .seconds(1)
    /// `--grace`: how long running tasks may finish after SIGTERM.
    public var grace: Duration = .seconds(30)
    /// How often runner.json is rewritten.
    public var heartbeat: Duration = .seconds(2)
    /// How often status files are checked against the store (the processes changed since the
    /// last check, plus one page of a sweep over all of them).
    public var statusCheck: Duration = .seconds(5)
    /// The clock schedules are computed with (`runner.json`'s next slots).
    public var scheduleClock: ScheduleClock = .real
    /// `--max-live`: most accepted processes not yet ended held at once. Intake stops at the cap
    /// and takes more as processes end, so a backlog of any size waits in `inbox/` (on disk), not
    /// in memory. Processes resumed at start count too (they are all taken, even past the cap).
    public var maxLiveProcesses: Int = EngineConfiguration.defaultMaxLiveProcesses
    /// About 3 KB of memory each for the seed's shape: 2,048 keep a full runner near 40 MB.
    public static let defaultMaxLiveProcesses = 2048
    /// Most inbox files taken in one batch, so one huge drop does not stall task starts.
    public var intakeBatch: Int = 256
    /// `--commit-batch`: most processes whose changes one store transaction carries. More
    /// changed processes wait for the next transaction, oldest first; 1 commits each process's
    /// changes alone (group commit off, for benchmarks).
    public var commitBatch: Int = EngineConfiguration.defaultCommitBatch
    /// The group-commit cap: big enough that batches form freely under load, small
    /// enough that one transaction stays short (River and Oban use similar limits).
    public static let defaultCommitBatch = 500
    /// Longest a reload of the definitions may take before the engine gives up on it and keeps
    /// the definitions it has.
    public var definitionLoadLimit: Duration = .seconds(30)
    /// The clock a batch's `now` and the engine's timers run on (see `EngineClock`); tests move
    /// one of their own.
    var clock: EngineClock = .system
    /// Builds what runs task attempts, from the engine's pause; nil: the real `TaskExecutor`.
    /// Tests give a fake that decides when and how each attempt ends.
    var taskExecutor: (@Sendable (RunnerPause) -> any TaskExecuting)?

    /// `--lease`: how long the store keeps this runner's processes without a renewal, when
    /// runners share the store (SPEC §9). Sets the reaper's period (lease/3) and how soon a
    /// fenced task is killed (SIGKILL lease/6 after its SIGTERM).
    public var lease: Duration = .seconds(15)
    /// How often a runner of a shared store looks for work when no notification came (River's
    /// FetchPollInterval).
    public var claimPoll: Duration = .seconds(1)
    /// The shortest time between two claims (River's FetchCooldown).
    public var claimCooldown: Duration = .milliseconds(100)
    /// `--prune-after`: finished processes older than this are deleted from the store (by the
    /// leader in a fleet) and their files from the spool (by every runner); nil: never.
    public var pruneAfter: Duration?
    /// How often the prune pass runs for `pruneAfter`: half of it, at least a minute apart (a
    /// pass lists the spool's directories) and at most an hour (so that a long `pruneAfter`
    /// still keeps the spool within about an hour of it). It runs on the schedule clock, which a
    /// test makes fast.
    public static func pruneInterval(for after: Duration) -> Duration {
        min(.seconds(3600), max(.seconds(60), after / 2))
    }
    /// The shortest `--prune-after`: status files must outlive a client's look at them.
    public static let shortestPruneAfter: Duration = .seconds(60)
    /// Where the store is, password masked (`postgres://spool:***@db1:5432/spool`), for runner.json.
    public var storeDescription: String?
    /// This runner's id in a shared store (`--runner-id`), for runner.json.
    public var runnerID: String?

    public init(layout: SpoolLayout, definitionsDirectory: String) {
        self.layout = layout
        self.definitionsDirectory = definitionsDirectory
    }
}
