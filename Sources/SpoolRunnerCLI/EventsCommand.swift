import ArgumentParser
import Foundation
import GRDB
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner events ID`: the timeline of one process, from the append-only `events` table.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print every state change of a process, oldest first."
    )

    @Argument(help: "The process id.")
    var id: String

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var spool: SpoolOptions

    func run() throws {
        let store = try spool.openReadOnly()
        let processID = id
        let events: [EventRecord]
        do {
            events = try store.read { db in
                try EventRecord.filter(EventRecord.Columns.processID == processID).order(EventRecord.Columns.id).fetchAll(db)
            }
        } catch {
            throw fail("cannot read \(spool.databasePath): \(error)", ExitStatus.ioError)
        }
        guard !events.isEmpty else {
            throw fail("no events for '\(id)' in \(spool.databasePath)", ExitStatus.noInput)
        }
        if json {
            let rows: [JSONValue] = events.map { event in
                .object([
                    "id": .integer(event.id ?? 0),
                    "process_id": .string(event.processID),
                    "task_name": event.taskName.map(JSONValue.string) ?? .null,
                    "event": .string(event.event),
                    "at": .string(event.at),
                    "detail": event.detail.map(JSONValue.object) ?? .null,
                ])
            }
            print(JSONValue.array(rows).compactJSON)
            return
        }
        let eventWidth = events.map(\.event.count).max() ?? 0
        let taskWidth = max(1, events.compactMap(\.taskName?.count).max() ?? 0)
        for event in events {
            let task = event.taskName ?? "-"
            let detail = event.detail.map { JSONValue.object($0).compactJSON } ?? ""
            print("\(event.at)  \(event.event.padding(toLength: eventWidth, withPad: " ", startingAt: 0))  \(task.padding(toLength: taskWidth, withPad: " ", startingAt: 0))  \(detail)")
        }
    }
}
