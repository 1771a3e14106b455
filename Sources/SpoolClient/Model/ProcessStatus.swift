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
