import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner schedules`: every schedule entry of every definition, with its next slot, its
/// last submitted slot and that process's status. Reads the definitions and the store
/// (read-only); works with or without a running runner.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "List every schedule entry: cron, time zone, next slot, last submitted slot and its status."
    )

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var spool: SpoolOptions
    @OptionGroup var definitions: DefinitionsOptions

    func run() async throws {
        let catalog = DefinitionCatalog.load(directory: definitions.definitions)
        let clock: ScheduleClock
        do {
            clock = try ScheduleClock.fromEnvironment()
        } catch {
            throw fail(error.description, ExitCode.validationFailure)
        }
        let states = try await readStates()
        let now = clock.now()
        var rows: [Row] = []
        for processType in catalog.definitions.keys.sorted() {
            for entry in catalog.definitions[processType]?.schedule ?? [] {
                let state = states.entries[processType + "\u{0}" + entry.key]
                let last = state.flatMap { Timestamp.parse($0.lastSlot) }
                let next = entry.nextSlot(after: max(now, last ?? now))
                let lastID = state?.lastProcessID
                rows.append(
                    Row(
                        processType: processType, entry: entry, next: next, lastSlot: last, lastProcessID: lastID,
                        lastStatus: lastID.map { lastStatus(of: $0, stored: states.statuses[$0]) }))
            }
        }
        if json {
            print(JSONValue.array(rows.map(\.json)).compactJSON)
            return
        }
        for error in catalog.errors {
            FileHandle.standardError.write(
                Data("spoolrunner: invalid definition, its schedules are not run: \(error.description)\n".utf8))
        }
        if rows.isEmpty {
            print("no schedule entries in \(definitions.definitions)")
            return
        }
        print(["TYPE", "ENTRY", "CRON", "TIMEZONE", "NEXT", "LAST SUBMITTED", "STATUS"].joined(separator: "\t"))
        for row in rows {
            print(
                [
                    row.processType, row.entry.name ?? "-", row.entry.cron.source, row.entry.timeZoneName,
                    row.next.map(Timestamp.string) ?? "never", row.lastProcessID ?? "-", row.lastStatus ?? "-",
                ].joined(separator: "\t"))
        }
    }

    struct Row {
        var processType: String
        var entry: ScheduleDefinition
        var next: Date?
        var lastSlot: Date?
        var lastProcessID: String?
        var lastStatus: String?

        var json: JSONValue {
            .object([
                "process_type": .string(processType),
                "name": entry.name.map(JSONValue.string) ?? .null,
                "cron": .string(entry.cron.source),
                "timezone": .string(entry.timeZoneName),
                "catch_up": .string(entry.catchUp.rawValue),
                "overlap": .string(entry.overlap.rawValue),
                "next_slot": next.map { .string(Timestamp.string($0)) } ?? .null,
                "last_slot": lastSlot.map { .string(Timestamp.string($0)) } ?? .null,
                "last_process_id": lastProcessID.map(JSONValue.string) ?? .null,
                "last_status": lastStatus.map(JSONValue.string) ?? .null,
            ])
        }
    }

    /// The stored state of every entry and the status of each entry's last process. No store
    /// yet (no runner has run) or a store from before schedules: nothing stored.
    func readStates() async throws -> (entries: [String: ScheduleStateRecord], statuses: [String: String]) {
        let states: ScheduleStates
        do {
            states = try await spool.openReadOnly().scheduleStates()
        } catch  where error.code == .notFound {
            return ([:], [:])
        } catch {
            throw fail(error)
        }
        let entries = Dictionary(
            states.entries.map { ($0.processType + "\u{0}" + $0.entry, $0) }, uniquingKeysWith: { a, _ in a })
        return (entries, states.lastStatuses.mapValues(\.rawValue))
    }

    /// The last process's status: from the store, else `waiting` while its request is still in
    /// `inbox/`, else the status file's (a rejected slot has only that).
    func lastStatus(of processID: String, stored: String?) -> String {
        if let stored { return stored }
        let layout = spool.layout
        if FileManager.default.fileExists(atPath: "\(layout.inbox)/\(processID).json") { return "waiting" }
        // A display column: a status file that cannot be read shows as unknown, not as a failure
        // of the whole listing.
        return (try? StatusWriter(layout: layout).read(processID: processID))?.status.rawValue ?? "unknown"
    }
}
