/// A process's state: the same strings in status files, SQLite and logs (SPEC §4).
public enum ProcessStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, success, failed, cancelled, rejected

    public var isFinal: Bool {
        switch self {
        case .pending, .running: false
        case .success, .failed, .cancelled, .rejected: true
        }
    }
}

/// Interpolated as its stored text (`exit_status`, not `exitStatus`) in messages and logs.
extension ProcessStatus: CustomStringConvertible {
    public var description: String { rawValue }
}
