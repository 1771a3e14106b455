/// One process as the store has it: its row and its tasks in status-file order.
public struct StoredProcess: Sendable {
    public var record: ProcessRecord
    public var tasks: [TaskRecord]

    public init(record: ProcessRecord, tasks: [TaskRecord]) {
        self.record = record
        self.tasks = tasks
    }
}
