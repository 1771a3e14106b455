/// One task of a definition: what to run and when it may start.
public struct TaskDefinition: Sendable {
    public enum Mode: String, Codable, Sendable, Hashable { case sync, async }

    public enum Action: Sendable {
        /// Execute argv directly, never through a shell. Element 0 holds no template.
        case run([TemplateString])
        /// `/bin/sh -c SCRIPT`; the script holds no template (a load error).
        case shell(String)
        /// A built-in wait.
        case sleep(Duration)
    }

    public var name: String
    public var mode: Mode
    public var action: Action
    /// `needs:` as written, or nil when the task follows the sync/async rule.
    public var needs: [String]?
    /// The tasks that must have succeeded before this one starts, resolved by the loader:
    /// `needs` when given, otherwise the nearest sync task listed before it (none for the first).
    public var dependencies: [String]
    public var timeout: Duration?
    public var retry: RetryPolicy
    /// Extra environment, in file order; values may hold templates.
    public var env: [EnvironmentEntry]
    /// Whether running it again after an interruption is safe (default true).
    public var idempotent: Bool
    /// Whether its failure leaves the rest of the process going.
    public var continueOnFailure: Bool

    public init(
        name: String, mode: Mode = .sync, action: Action, needs: [String]? = nil,
        dependencies: [String] = [], timeout: Duration? = nil, retry: RetryPolicy = RetryPolicy(),
        env: [EnvironmentEntry] = [], idempotent: Bool = true, continueOnFailure: Bool = false
    ) {
        self.name = name
        self.mode = mode
        self.action = action
        self.needs = needs
        self.dependencies = dependencies
        self.timeout = timeout
        self.retry = retry
        self.env = env
        self.idempotent = idempotent
        self.continueOnFailure = continueOnFailure
    }
}

/// One `env:` entry of a task.
public struct EnvironmentEntry: Sendable {
    public var name: String
    public var value: TemplateString

    public init(name: String, value: TemplateString) {
        self.name = name
        self.value = value
    }
}
