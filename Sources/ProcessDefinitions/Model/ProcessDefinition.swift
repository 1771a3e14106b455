/// One parsed definition file, `definitions/<process_type>.yaml`: immutable once loaded.
///
/// The loader has already checked everything that can be checked without a request: names,
/// dependencies (no cycle), templates, durations, schedules. The engine trusts it.
public struct ProcessDefinition: Sendable {
    /// The process type: the file name without its extension.
    public var processType: String
    public var description: String?
    /// Declared inputs, in file order.
    public var inputs: [InputDefinition]
    /// Whether request keys that are not declared inputs are accepted (`additional_inputs: true`).
    public var additionalInputs: Bool
    /// Limit for the whole process, from its start.
    public var timeout: Duration?
    /// Maximum number of running processes of this type.
    public var concurrency: Int?
    public var schedule: [ScheduleDefinition]
    /// The tasks, in definition order, with `dependencies` resolved by the ordering rule.
    public var tasks: [TaskDefinition]
    /// Tasks run after a failure, in order, with their own `dependencies` resolved among themselves.
    public var onFailure: [TaskDefinition]
    /// Path of the file this was loaded from.
    public var file: String
    /// Directory that relative `run:` program paths are resolved against (the definitions directory).
    public var baseDirectory: String

    public init(
        processType: String, description: String? = nil, inputs: [InputDefinition] = [],
        additionalInputs: Bool = false, timeout: Duration? = nil, concurrency: Int? = nil,
        schedule: [ScheduleDefinition] = [], tasks: [TaskDefinition], onFailure: [TaskDefinition] = [],
        file: String, baseDirectory: String
    ) {
        self.processType = processType
        self.description = description
        self.inputs = inputs
        self.additionalInputs = additionalInputs
        self.timeout = timeout
        self.concurrency = concurrency
        self.schedule = schedule
        self.tasks = tasks
        self.onFailure = onFailure
        self.file = file
        self.baseDirectory = baseDirectory
    }

    /// Every task, main ones first then `on_failure` ones, the order of a status file's `tasks`.
    public var allTasks: [TaskDefinition] { tasks + onFailure }

    public func task(named name: String) -> TaskDefinition? {
        allTasks.first { $0.name == name }
    }
}
