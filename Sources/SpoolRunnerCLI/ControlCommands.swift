import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner cancel ID`: asks the runner to cancel a process, through `control/`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a process: pending tasks are skipped, running ones get SIGTERM (SIGKILL after 5 s)."
    )

    @OptionGroup var target: ControlTarget

    func run() throws {
        try target.send(.cancel)
    }
}

/// `spoolrunner retry ID`: asks the runner to resume a failed or cancelled process.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Resume a failed or cancelled process from its unfinished tasks, under the same id."
    )

    @OptionGroup var target: ControlTarget

    func run() throws {
        try target.send(.retry)
    }
}

/// The process a control command is about, and how the message reaches the runner: a file
/// dropped into `control/` like any request, so it works whether or not `serve` runs now.
struct ControlTarget: ParsableArguments {
    @Argument(help: "The process id.")
    var id: String

    @OptionGroup var spool: SpoolOptions

    func validate() throws {
        guard ProcessID.isValid(id) else { throw ValidationError("'\(id)' is not a valid process id") }
    }

    func send(_ action: ControlMessage.Action) throws {
        do {
            try RequestDropper(layout: spool.layout).control(ControlMessage(action: action, processID: id))
        } catch {
            throw fail(error.description, ExitStatus.cannotCreate)
        }
        print("\(action.rawValue) requested for \(id); the runner acts on it (see `spoolrunner status \(id)`)")
    }
}
