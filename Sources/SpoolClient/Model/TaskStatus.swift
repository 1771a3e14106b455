/// A task's state (SPEC §4).
public enum TaskStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, retrying, success, failed, skipped, cancelled

    public var isFinal: Bool {
        switch self {
        case .pending, .running, .retrying: false
        case .success, .failed, .skipped, .cancelled: true
        }
    }
}

/// Interpolated as its stored text (`exit_status`, not `exitStatus`) in messages and logs.
extension TaskStatus: CustomStringConvertible {
    public var description: String { rawValue }
}
