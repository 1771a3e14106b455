import Foundation

/// A validated request as intake hands it to the store (SPEC §3, §9).
public struct StoredRequest: Sendable {
    public struct Task: Sendable, Encodable {
        public var taskName: String
        public var position: Int
        public var mode: String
        public var onFailure: Bool

        public init(taskName: String, position: Int, mode: String, onFailure: Bool = false) {
            self.taskName = taskName
            self.position = position
            self.mode = mode
            self.onFailure = onFailure
        }

        enum CodingKeys: String, CodingKey {
            case taskName = "task_name"
            case position, mode
            case onFailure = "on_failure"
        }
    }

    public var processID: String
    public var processType: String
    /// The validated inputs, as JSON.
    public var inputsJSON: String
    /// The request file's bytes, verbatim (text: the duplicate rule compares bytes). The store
    /// computes their sha256 itself, the same way for every path that inserts a process.
    public var requestJSON: String
    /// The definition it was validated with: its YAML is stored once, by hash.
    public var definitionSHA256: Data
    public var definitionYAML: String
    /// ISO-8601 (the engine's timestamps).
    public var createdAt: String
    public var tasks: [Task]

    public init(
        processID: String, processType: String, inputsJSON: String, requestJSON: String,
        definitionSHA256: Data, definitionYAML: String, createdAt: String, tasks: [Task]
    ) {
        self.processID = processID
        self.processType = processType
        self.inputsJSON = inputsJSON
        self.requestJSON = requestJSON
        self.definitionSHA256 = definitionSHA256
        self.definitionYAML = definitionYAML
        self.createdAt = createdAt
        self.tasks = tasks
    }
}

/// What became of an accepted request.
public enum Acceptance: Sendable, Equatable {
    /// New; `leaseEpoch` is set when it was claimed on intake by this runner.
    case accepted(leaseEpoch: Int64?)
    /// The same bytes under an existing id: this runner is subscribed to its status too.
    case duplicate
    /// Other bytes under an existing id: reject with `duplicate_process_id`.
    case conflict
}
