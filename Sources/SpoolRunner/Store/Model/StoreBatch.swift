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
    /// What the batch adds to the metrics counters, from the events and rejections it records:
    /// written in the same transaction, so a crash can neither lose nor repeat an increment.
    public var counters: CounterIncrements

    public init(changes: [Change] = [], rejections: [RejectionRecord] = []) {
        self.changes = changes
        self.rejections = rejections
        var counters = CounterIncrements()
        for change in changes { counters.add(events: change.events, processType: change.record.processType) }
        for rejection in rejections { counters.add(rejectionCode: rejection.code) }
        self.counters = counters
    }

    public var isEmpty: Bool { changes.isEmpty && rejections.isEmpty }
}
