/// What one engine flush writes, copied out of the live processes so the commit runs off the
/// engine: new and changed processes with their changed tasks and new events, and rejections.
public struct StoreBatch: Sendable {
    public struct Change: Sendable {
        public var record: ProcessRecord
        /// The process is not in the store yet.
        public var isNew: Bool
        /// The process row itself changed (not only its tasks).
        public var processChanged: Bool
        public var tasks: [TaskRecord]
        public var events: [EventRecord]

        public init(
            record: ProcessRecord, isNew: Bool, processChanged: Bool, tasks: [TaskRecord], events: [EventRecord]
        ) {
            self.record = record
            self.isNew = isNew
            self.processChanged = processChanged
            self.tasks = tasks
            self.events = events
        }
    }

    public var changes: [Change]
    public var rejections: [RejectionRecord]

    public init(changes: [Change] = [], rejections: [RejectionRecord] = []) {
        self.changes = changes
        self.rejections = rejections
    }

    public var isEmpty: Bool { changes.isEmpty && rejections.isEmpty }
}
