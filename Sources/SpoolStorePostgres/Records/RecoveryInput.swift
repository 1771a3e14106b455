import Foundation

/// One unit of work for the recovery function: a process of a dead runner, its task rows, and
/// the definition it was accepted with (its stored YAML).
public struct RecoveryInput: Sendable {
    /// The process row with every column the engine's recovery needs; timestamps in the engine's
    /// ISO-8601 form (`2026-07-20T15:00:00.123Z`), JSON columns as JSON text.
    public struct ProcessState: Sendable, Equatable {
        public var processID: String
        public var processType: String
        public var status: String
        public var inputsJSON: String
        public var requestJSON: String
        public var createdAt: String
        public var startedAt: String?
        public var endedAt: String?
        public var updatedAt: String
        public var errorJSON: String?
        public var crashCount: Int
        public var takeovers: Int
        public var ownerRunner: String?
        public var leaseEpoch: Int64
    }

    public var process: ProcessState
    /// The same shape a commit writes.
    public var tasks: [ProcessTransition.Task]
    public var definitionYAML: String
    public var definitionSHA256: Data
    /// The runner that owned it.
    public var previousOwner: String
}

extension RecoveryInput {
    var definitionSHA256Hex: String { definitionSHA256.map { String(format: "%02x", $0) }.joined() }
}
