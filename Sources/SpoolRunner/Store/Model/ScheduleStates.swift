import SpoolClient

/// Every schedule entry's stored state, and the status of each entry's last process (absent
/// when that process is not in the store: still in `inbox/`, rejected, or pruned).
public struct ScheduleStates: Sendable {
    public var entries: [ScheduleStateRecord]
    public var lastStatuses: [String: ProcessStatus]

    public init(entries: [ScheduleStateRecord], lastStatuses: [String: ProcessStatus]) {
        self.entries = entries
        self.lastStatuses = lastStatuses
    }
}
