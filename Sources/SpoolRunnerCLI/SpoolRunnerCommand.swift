import ArgumentParser
import SpoolRunner

/// `spoolrunner`: runs multi-step batch processes from a file spool.
@main
struct SpoolRunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spoolrunner",
        abstract: "Run multi-step batch processes from a file spool.",
        discussion: """
            Drop a JSON request into SPOOL/inbox/, and `serve` runs the tasks its definition declares,
            writes SPOOL/outbox/<id>.json on every change and records history in SQLite.

            Exit status: 0 success; 1 a process that failed or a definition that is invalid; 64 usage;
            65 a bad value or file given to the command; 66 no such process or history store;
            73 the spool cannot be created; 74 the history store cannot be opened or written;
            75 another runner holds the spool's lock; 78 the history store belongs to another spool; 124 `submit --wait --timeout` ran out.
            """,
        version: SpoolRunnerInfo.version,
        subcommands: [
            ServeCommand.self, SubmitCommand.self, StatusCommand.self, HistoryCommand.self, EventsCommand.self,
            CancelCommand.self, RetryCommand.self, ValidateCommand.self, InitCommand.self, PruneCommand.self,
            SchedulesCommand.self, WatchCommand.self,
        ]
    )
}
