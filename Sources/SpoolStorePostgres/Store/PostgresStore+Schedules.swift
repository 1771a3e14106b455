import Foundation
import PostgresNIO
import SpoolRunner

/// The leader's schedule slots, straight into the store (SPEC §9, "The leader: schedules").
extension PostgresStore: ScheduleSlotStore {
    /// Inserts the slots' processes unowned (`ON CONFLICT DO NOTHING`: the slot's deterministic
    /// id decides between two leaders), subscribed by this runner, with their tasks, `accepted`
    /// events and metric counters; saves the entry's state in the same transaction; and sends
    /// one `spoolrunner_work` notification when it inserted any.
    public func submitSlots(_ slots: [StoreBatch.Change], state: ScheduleStateRecord, events: [EventRecord])
        async throws(StoreError) -> Set<String>
    {
        let operation = "submit \(slots.count) slot(s) of schedule \(state.processType)"
        let definitions = held.withLock { $0.definitions }
        var rows: [NewProcessRow] = []
        var transitions: [ProcessTransition] = []
        for change in slots {
            guard let definition = definitions[change.record.processType] else {
                throw StoreError(
                    .failed, location: location, operation: operation,
                    message:
                        "no definition of process type '\(change.record.processType)' was given to the store (useDefinitions) before its schedule slot \(change.record.processID)"
                )
            }
            rows.append(NewProcessRow(change.record, definition: definition))
            do {
                transitions.append(try ProcessTransition(change, epoch: 0, machineID: nil))
            } catch {
                throw storeError(error, operation)
            }
        }
        let eventRows = try encodedEvents(events, operation: operation)
        let byID = Dictionary(slots.map { ($0.record.processID, $0) }, uniquingKeysWith: { first, _ in first })
        let me = runnerID
        return try await storeCall(operation) { [self, rows, transitions] in
            try await transaction(operation) { connection in
                // No incarnation: inserted unowned, for whichever runner has a free slot.
                let (inserted, _) = try await insertNew(rows, incarnation: nil, on: connection)
                try await writeTransitions(
                    transitions.filter { inserted.contains($0.processID) }, connection: connection, ranTasks: false)
                var counters = CounterIncrements()
                for id in inserted {
                    guard let change = byID[id] else { continue }
                    counters.add(events: change.events, processType: change.record.processType)
                }
                try await addCounters(counters, runner: me, on: connection)
                try await writeScheduleState(state, eventRows: eventRows, on: connection)
                if !inserted.isEmpty {
                    try await connection.query("SELECT pg_notify(\(Self.workChannel), '')", logger: logger)
                }
                return inserted
            }
        }
    }
}
