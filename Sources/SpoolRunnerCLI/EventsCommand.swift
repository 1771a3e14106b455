import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner events ID`: the timeline of one process, from the append-only `events` table.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print every state change of a process, oldest first.",
        discussion:
            "With --follow it keeps printing new events as they are recorded, like tail -f, and exits once the process has ended (or on Ctrl-C); an id the store does not know yet is waited for."
    )

    @Argument(help: "The process id.", completion: CompletionSource.processIDs)
    var id: String

    @Flag(help: "Print a JSON array (with --follow: one JSON object per line).")
    var json = false

    @Flag(name: .shortAndLong, help: "Keep printing new events until the process ends.")
    var follow = false

    @OptionGroup var spool: SpoolOptions

    @OptionGroup var store: StoreOptions

    func validate() throws { _ = try StoreSelection.resolve(spool: spool, store: store) }

    func run() async throws {
        let selection = try StoreSelection.resolve(spool: spool, store: store)
        let (processID, json, follow, location) = (id, json, follow, selection.location)
        try await selection.withReader { store in
            if follow {
                try await Self.follow(processID, json: json, store: store)
                return
            }
            let events = try await store.events(of: processID, after: 0)
            guard !events.isEmpty else {
                throw fail("no events for '\(processID)' in \(location)", ExitStatus.noInput)
            }
            if json {
                print(JSONValue.array(events.map(Self.object)).compactJSON)
                return
            }
            let eventWidth = events.map(\.event.rawValue.count).max() ?? 0
            let taskWidth = max(1, events.compactMap(\.taskName?.count).max() ?? 0)
            for event in events {
                print(Self.line(event, eventWidth: eventWidth, taskWidth: taskWidth))
            }
        }
    }

    /// `--follow`: new events as they are recorded, until the process has ended.
    static func follow(_ processID: String, json: Bool, store: any StoreReader) async throws {
        var lastID: Int64 = 0
        while true {
            // The status first: every event recorded before the end is then in the events read
            // after it, so nothing is missed when it says ended.
            let status = try await store.process(processID)?.status
            let events = try await store.events(of: processID, after: lastID)
            // Written unbuffered: a reader at the other end of a pipe sees each event at once.
            for event in events {
                let line = json ? object(event).compactJSON : line(event, eventWidth: 20, taskWidth: 16)
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                lastID = max(lastID, event.id ?? lastID)
            }
            if let status, status.isFinal { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func object(_ event: EventRecord) -> JSONValue {
        .object([
            "id": .integer(event.id ?? 0),
            "process_id": .string(event.processID),
            "task_name": event.taskName.map(JSONValue.string) ?? .null,
            "event": .string(event.event.rawValue),
            "at": .string(Timestamp.string(event.at)),
            "detail": event.detail.map(JSONValue.object) ?? .null,
        ])
    }

    static func line(_ event: EventRecord, eventWidth: Int, taskWidth: Int) -> String {
        let task = event.taskName ?? "-"
        let detail = event.detail.map { JSONValue.object($0).compactJSON } ?? ""
        let at = Timestamp.string(event.at)
        return
            "\(at)  \(event.event.rawValue.padding(toLength: eventWidth, withPad: " ", startingAt: 0))  \(task.padding(toLength: taskWidth, withPad: " ", startingAt: 0))  \(detail)"
    }
}
