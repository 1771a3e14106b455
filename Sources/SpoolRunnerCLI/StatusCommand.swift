import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner status ID`: reads `outbox/<id>.json`; never needs the runner. With `--store`, reads
/// the process from the PostgreSQL store instead, from any host, no spool needed.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a process's status (one line per task), or its status file with --json.",
        discussion:
            "With --store URL (or SPOOLRUNNER_STORE) the process is read from the PostgreSQL store, on any host and without a spool; --json then prints exactly the bytes a subscribed runner writes to outbox/ID.json."
    )

    @Argument(help: "The process id.", completion: CompletionSource.processIDs)
    var id: String

    @Flag(help: "Print the status file as it is.")
    var json = false

    @OptionGroup var spool: SpoolRootOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if store.isSelected { _ = try store.url() }
        if !store.isSelected, store.storePasswordFile != nil {
            throw ValidationError("--store-password-file needs --store URL (or SPOOLRUNNER_STORE)")
        }
    }

    func run() async throws {
        if store.isSelected {
            try await runFromStore()
            return
        }
        let path = spool.layout.statusFile(id)
        // Read as a client reads: no symlink followed, no FIFO waited on, a bounded size.
        let found: Data?
        do {
            found = try StatusFileReader(layout: spool.layout).read(processID: id)
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        guard let data = found else {
            throw fail("no status for '\(id)' (looked for \(path))", ExitStatus.noInput)
        }
        if json {
            FileHandle.standardOutput.write(data)
            return
        }
        let document: StatusDocument
        do {
            document = try JSONDecoder().decode(StatusDocument.self, from: data)
        } catch {
            throw fail("\(path) is not a status document: \(error)", ExitStatus.dataError)
        }
        print(StatusFormatter.render(document))
        if !document.status.isFinal {
            let presence = RunnerPresence.check(spool.layout)
            if !presence.isRunning {
                // Without this, RUNNING with a growing duration reads as "still working on it".
                let seen = presence.lastSeen.map { "; last seen at \($0)" } ?? ""
                print(
                    "  note: no runner is running on \(spool.layout.root)\(seen); the process goes on when `spoolrunner serve` starts"
                )
            }
        }
    }
}

extension StatusCommand {
    /// The process as the store has it, rendered by the same status-document code a subscribed
    /// runner writes its status file with.
    func runFromStore() async throws {
        let processID = id
        let location = (try? store.url().description) ?? "the store"
        let stored = try await StoreSelection.postgres(store).withReader { store in
            try await store.snapshot(processID)
        }
        guard let stored else {
            throw fail("no process '\(id)' in store \(location)", ExitStatus.noInput)
        }
        let document = StatusDocument(process: stored.record, tasks: stored.tasks)
        if json {
            FileHandle.standardOutput.write(document.jsonData())
            return
        }
        print(StatusFormatter.render(document))
    }
}

/// The human view of a status document.
enum StatusFormatter {
    static func render(_ document: StatusDocument) -> String {
        var lines: [String] = []
        let elapsed = SpoolRunnerTime.elapsed(from: document.startedAt, to: document.endedAt).map { "  (\($0))" } ?? ""
        lines.append(
            "\(document.processID)  \(document.processType ?? "-")  \(document.status.rawValue.uppercased())\(elapsed)")
        lines.append(
            "  created \(document.createdAt ?? "-")  started \(document.startedAt ?? "-")  ended \(document.endedAt ?? "-")"
        )
        let width = max(12, document.tasks.map(\.taskName.count).max() ?? 0)
        for task in document.tasks {
            let name = task.taskName.padding(toLength: width, withPad: " ", startingAt: 0)
            let status = task.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
            let mode = task.mode.padding(toLength: 5, withPad: " ", startingAt: 0)
            var line = "  \(name)  \(mode)  \(status)  attempts \(task.attempts)"
            if let started = task.startedAt {
                line += "  \(started) → \(task.endedAt ?? "…")"
                if let took = SpoolRunnerTime.elapsed(from: started, to: task.endedAt) { line += "  (\(took))" }
            }
            if let code = task.exitCode { line += "  exit \(code)" }
            lines.append(line)
            if let error = task.error { lines.append("      error: \(error.code): \(error.message)") }
        }
        if let error = document.error {
            lines.append("  error: \(error.code): \(error.message)")
        }
        return lines.joined(separator: "\n")
    }
}
