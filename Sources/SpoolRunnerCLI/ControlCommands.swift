import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner cancel ID`: asks the runner to cancel a process, through `control/`.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a process: pending tasks are skipped, running ones get SIGTERM (SIGKILL after 5 s).",
        discussion: """
            The process must be known to the history store and not ended: an unknown id exits 66, \
            a process that already ended exits 65, and nothing is sent. With --wait it follows the \
            result and exits 0 once the process is cancelled (1 if it ended otherwise).

            With --store URL (or SPOOLRUNNER_STORE) the cancel goes through the PostgreSQL store \
            of a fleet, from any host and without a spool: a process no runner holds is cancelled \
            in the store at once; one a runner holds is flagged, and that runner is notified and \
            stops its tasks.
            """
    )

    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await target.send(.cancel)
    }
}

/// `spoolrunner retry ID`: asks the runner to resume a failed or cancelled process.
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Resume a failed or cancelled process from its unfinished tasks, under the same id.",
        discussion: """
            Only a failed or cancelled process is retried: an unknown id exits 66, any other state \
            exits 65, and nothing is sent. With --wait it follows the process to its new end and \
            exits 0 only on success.

            With --store URL (or SPOOLRUNNER_STORE) the retry goes through the PostgreSQL store of \
            a fleet, from any host and without a spool: the process is set back to pending in the \
            store, and the next runner with a free slot claims it.
            """
    )

    @OptionGroup var target: ControlTarget

    func run() async throws {
        try await target.send(.retry)
    }
}

/// The process a control command is about, and how the message reaches the runner: a file
/// dropped into `control/` like any request, so it works whether or not `serve` runs now.
struct ControlTarget: ParsableArguments {
    @Argument(help: "The process id.", completion: CompletionSource.processIDs)
    var id: String

    @Flag(help: "Wait for the outcome: exit 0 once the process is cancelled (cancel) or ends in success (retry).")
    var wait = false

    @OptionGroup var spool: SpoolOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard ProcessID.isValid(id) else { throw ValidationError("'\(id)' is not a valid process id") }
        _ = try StoreSelection.resolve(spool: spool, store: store)
    }

    func send(_ action: ControlMessage.Action) async throws {
        if case .postgres(let options) = try StoreSelection.resolve(spool: spool, store: store) {
            try await sendThroughStore(action, options)
            return
        }
        let before = try await check(action)
        let name: String
        do {
            name = try RequestDropper(layout: spool.layout).control(ControlMessage(action: action, processID: id))
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        guard wait else {
            print("\(action.rawValue) requested for \(id); the runner acts on it (see `spoolrunner status \(id)`)")
            return
        }
        try await follow(action, controlFile: name, before: before)
    }

    /// What can be checked before anything is sent: the process exists and is in a state where
    /// the action does something. - Returns: the process's `updated_at` now.
    func check(_ action: ControlMessage.Action) async throws -> Date {
        let record: ProcessRecord?
        do {
            record = try await spool.openReadOnly().process(id)
        } catch  where error.code == .notFound {
            record = nil
        } catch {
            throw fail(error)
        }
        guard let record else {
            let waiting = FileManager.default.fileExists(atPath: "\(spool.layout.inbox)/\(id).json")
            let hint =
                waiting ? "; its request is still waiting in \(spool.layout.inbox)/ (not taken by a runner yet)" : ""
            throw fail("no process '\(id)' in \(spool.databasePath)\(hint)", ExitStatus.noInput)
        }
        switch action {
        case .cancel where record.status.isFinal:
            throw fail(
                "\(id) already ended \(record.status.rawValue); there is nothing to cancel", ExitStatus.dataError)
        case .retry where record.status != .failed && record.status != .cancelled:
            let why =
                record.status.isFinal
                ? "it ended \(record.status.rawValue)" : "it has not ended (\(record.status.rawValue))"
            throw fail(
                "\(id) cannot be retried: \(why); only failed or cancelled processes are retried", ExitStatus.dataError)
        default:
            return record.updatedAt
        }
    }

    /// Waits until the runner took the control file, then until the process shows the result.
    func follow(_ action: ControlMessage.Action, controlFile: String, before: Date) async throws {
        let layout = spool.layout
        var notice = RunnerNotice(layout: layout)
        while FileManager.default.fileExists(atPath: "\(layout.control)/\(controlFile)") {
            notice.check()
            try await Task.sleep(for: .milliseconds(50))
        }
        if FileManager.default.fileExists(atPath: "\(layout.rejected)/\(controlFile)") {
            // Only to quote the reason; the rejection itself is known from the file in rejected/.
            let error =
                (try? String(contentsOfFile: "\(layout.rejected)/\(controlFile).error.json", encoding: .utf8)) ?? ""
            throw fail(
                "the runner rejected the \(action.rawValue) message: \(error.trimmingCharacters(in: .whitespacesAndNewlines))",
                ExitStatus.failed)
        }
        let store = spool.openReadOnly()
        let taken = Date()
        var lastStatus: ProcessStatus?
        while true {
            notice.check()
            let record: ProcessRecord?
            do {
                record = try await store.process(id)
            } catch {
                throw fail(error)
            }
            if let record {
                if record.status != lastStatus {
                    lastStatus = record.status
                    print("\(id): \(record.status.rawValue)")
                }
                let changed = record.updatedAt > before
                if record.status.isFinal && changed {
                    let wanted: ProcessStatus = action == .cancel ? .cancelled : .success
                    if record.status == wanted { return }
                    if let error = record.error { print("\(id): \(error.code): \(error.message)") }
                    throw ExitStatus.failed
                }
                // Taken, yet nothing changed: the runner found nothing to do (the process ended
                // between the check and the message).
                if !changed && record.status.isFinal && Date().timeIntervalSince(taken) > 5 {
                    throw fail(
                        "the runner took the \(action.rawValue) message but \(id) stayed \(record.status.rawValue)",
                        ExitStatus.failed)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
