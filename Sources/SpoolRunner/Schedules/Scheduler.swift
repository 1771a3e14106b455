import Foundation
import Logging
import ProcessDefinitions

/// Turns due schedule slots into request files in `inbox/`: the intake then treats each exactly
/// like a dropped file (validation, the duplicate rule, history, rejection with its code).
///
/// Sits before intake in the pipeline. Each slot's request has a deterministic id and
/// byte-identical content, so dropping it again after a crash is the inbox's "same request"
/// case and changes nothing: a slot runs at most once whatever restarts. The file is durable
/// before the entry's last slot is stored; the reverse order could lose a slot.
package struct Scheduler: Sendable {
    let layout: SpoolLayout
    let store: any Store
    package let clock: ScheduleClock
    let logger: Logger
    /// How far back a pass looks for an entry it has no state for (`SchedulePlan.firstLook`).
    let firstLook: TimeInterval
    /// Entry state by `(process type, entry name)`, loaded from the store on the first pass.
    var states: [EntryKey: ScheduleStateRecord]?

    struct EntryKey: Hashable, Sendable {
        var processType: String
        var entry: String
    }

    /// - Parameter once: for `serve --once`: a new entry's slot of the last minute still counts.
    package init(layout: SpoolLayout, store: any Store, clock: ScheduleClock, logger: Logger, once: Bool = false) {
        self.firstLook = once ? SchedulePlan.onTime : SchedulePlan.firstLook
        self.layout = layout
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Submits every slot that came due since the last pass, under each entry's `catch_up` and
    /// `overlap` rules, and stores where each entry stands. Returns how many files it dropped.
    /// - Throws: `StoreError` when the store cannot be read or written; the
    ///   next pass tries again (a slot already dropped is then the same request again).
    @discardableResult
    package mutating func pass(catalog: DefinitionCatalog) async throws -> Int {
        if states == nil { states = try await loadStates() }
        let now = clock.now()
        var dropped = 0
        for processType in catalog.definitions.keys.sorted() {
            guard let definition = catalog.definitions[processType] else { continue }
            for entry in definition.schedule {
                dropped += try await pass(entry, processType: processType, definition: definition, now: now)
            }
        }
        return dropped
    }

    /// Drops the entries' state read from the store: the next pass reads it again (another
    /// runner of the fleet may have led meanwhile).
    public mutating func forgetStates() {
        states = nil
    }

    /// The earliest next slot of all entries (for the service's sleep and `runner.json`).
    package func nextDue(catalog: DefinitionCatalog) -> Date? {
        let now = clock.now()
        var earliest: Date?
        for (processType, definition) in catalog.definitions {
            for entry in definition.schedule {
                let last = states?[EntryKey(processType: processType, entry: entry.key)].flatMap {
                    Timestamp.parse($0.lastSlot)
                }
                guard let next = entry.nextSlot(after: max(now, last ?? now)) else { continue }
                if earliest.map({ next < $0 }) ?? true { earliest = next }
            }
        }
        return earliest
    }

    mutating func pass(_ entry: ScheduleDefinition, processType: String, definition: ProcessDefinition, now: Date)
        async throws -> Int
    {
        let key = EntryKey(processType: processType, entry: entry.key)
        let previous = states?[key]
        let plan = SchedulePlan.make(
            entry, last: previous.flatMap { Timestamp.parse($0.lastSlot) }, now: now, firstLook: firstLook)
        guard let newLast = plan.newLast else { return 0 }
        var metadata: Logger.Metadata = ["process.type": "\(processType)"]
        if let name = entry.name { metadata["schedule.name"] = "\(name)" }
        if plan.passedOver > 0 {
            logger.notice(
                "schedule: \(plan.passedOver) slot(s) missed while no runner ran were passed over (catch_up: \(entry.catchUp.rawValue))",
                metadata: metadata)
        }
        var state =
            previous
            ?? ScheduleStateRecord(
                processType: processType, entry: entry.key, lastSlot: "", lastProcessID: nil, lastSubmittedAt: nil,
                updatedAt: "")
        var skipped: [EventRecord] = []
        var slots: [StoreBatch.Change] = []
        var dropped = 0
        for slot in plan.submit {
            let processID = entry.processID(processType: processType, slot: slot)
            var slotMetadata = metadata
            slotMetadata["process.id"] = "\(processID)"
            slotMetadata["schedule.slot"] = "\(Timestamp.string(slot))"
            if entry.overlap == .skip,
                let unfinished = try await unfinishedRun(
                    of: entry, processType: processType, lastSubmitted: state.lastProcessID)
            {
                logger.notice(
                    "schedule_skipped: the previous run \(unfinished) has not ended (overlap: skip)",
                    metadata: slotMetadata)
                var detail: [String: JSONValue] = [
                    "slot": .string(Timestamp.string(slot)), "unfinished": .string(unfinished),
                ]
                if let name = entry.name { detail["schedule"] = .string(name) }
                skipped.append(
                    EventRecord(processID: processID, event: .scheduleSkipped, at: Date(), detail: detail))
                continue
            }
            let body = entry.requestJSON(processType: processType) + "\n"
            if store is any ScheduleSlotStore,
                let process = Self.slotProcess(
                    body, processID: processID, definition: definition, entry: entry, slot: slot, now: Date())
            {
                // Straight into the shared store, in the transaction that saves the state below.
                slots.append(process)
                logger.info("schedule slot submitted to the store", metadata: slotMetadata)
                state.lastProcessID = processID
                state.lastSubmittedAt = Timestamp.now()
                dropped += 1
                continue
            }
            // A slot the definition rejects goes through the inbox even in a fleet: the intake
            // rejects it with its code and message, as it would on one host.
            try AtomicFile.write(Data(body.utf8), to: "\(layout.inbox)/\(processID).json", durable: true)
            if let problem = entry.inputsProblem {
                logger.warning(
                    "schedule slot submitted with inputs the definition rejects: \(problem.description)",
                    metadata: slotMetadata)
            } else {
                logger.info("schedule slot submitted", metadata: slotMetadata)
            }
            state.lastProcessID = processID
            state.lastSubmittedAt = Timestamp.now()
            dropped += 1
        }
        state.lastSlot = Timestamp.string(newLast)
        state.updatedAt = Timestamp.now()
        let row = state
        let events = skipped
        if let slotStore = store as? any ScheduleSlotStore {
            let inserted = try await slotStore.submitSlots(slots, state: row, events: events)
            if inserted.count < slots.count {
                logger.info(
                    "schedule: \(slots.count - inserted.count) slot(s) were in the store already (another leader submitted them)",
                    metadata: metadata)
            }
        } else {
            try await store.saveScheduleState(row, events: events)
        }
        states?[key] = state
        return dropped
    }

    /// A slot's process as the intake would accept it from a dropped file (inputs validated,
    /// defaults applied, every task pending, an `accepted` event naming the slot); nil when the
    /// definition rejects the entry's inputs.
    static func slotProcess(
        _ body: String, processID: String, definition: ProcessDefinition, entry: ScheduleDefinition, slot: Date,
        now: Date
    ) -> StoreBatch.Change? {
        guard case .object(var fields)? = try? StrictJSONParser.parse(Data(body.utf8)) else { return nil }
        guard case .string(let processType)? = fields.removeValue(forKey: "process_type"),
            case .success(let inputs) = definition.validateInputs(fields)
        else { return nil }
        let record = ProcessRecord(
            processID: processID, processType: processType, status: .pending, inputs: inputs, requestJSON: body,
            createdAt: now, updatedAt: now)
        var detail: [String: JSONValue] = ["slot": .string(Timestamp.string(slot))]
        if let name = entry.name { detail["schedule"] = .string(name) }
        return StoreBatch.Change(
            record: record, isNew: true, processChanged: true,
            tasks: ProcessRun.newTasks(for: definition, processID: processID),
            events: [EventRecord(processID: processID, event: .accepted, at: now, detail: detail)])
    }

    /// An unfinished earlier run of the entry: its request still waiting in `inbox/`, or its
    /// process pending or running in the store.
    func unfinishedRun(of entry: ScheduleDefinition, processType: String, lastSubmitted: String?) async throws
        -> String?
    {
        if let lastSubmitted, FileManager.default.fileExists(atPath: "\(layout.inbox)/\(lastSubmitted).json") {
            return lastSubmitted
        }
        let pattern = Self.idPattern(entry: entry, processType: processType)
        return try await store.unfinishedProcess(ofType: processType, idMatching: pattern)
    }

    /// A GLOB matching exactly the slot ids of one entry (type and name are plain id characters).
    static func idPattern(entry: ScheduleDefinition, processType: String) -> String {
        let digit = "[0-9]"
        let stamp = String(repeating: digit, count: 8) + "T" + String(repeating: digit, count: 4)
        return entry.name.map { "\(processType)-\($0)-\(stamp)" } ?? "\(processType)-\(stamp)"
    }

    func loadStates() async throws -> [EntryKey: ScheduleStateRecord] {
        let rows = try await store.scheduleStates().entries
        return Dictionary(
            rows.map { (EntryKey(processType: $0.processType, entry: $0.entry), $0) }, uniquingKeysWith: { a, _ in a })
    }
}
