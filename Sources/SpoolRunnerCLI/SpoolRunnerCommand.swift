import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner`: runs multi-step batch processes from a file spool.
@main
struct SpoolRunnerCommand: AsyncParsableCommand {
    // Paragraphs are single lines (joined with `\`): the parser wraps them to the terminal, and a
    // text already wrapped by hand would come out ragged. Indented lines are kept as they are.
    static let configuration = CommandConfiguration(
        commandName: "spoolrunner",
        abstract: "Run multi-step batch processes from a file spool.",
        discussion: """
            Drop a JSON request into SPOOL/inbox/, and `serve` runs the tasks its definition declares, \
            writes SPOOL/outbox/<id>.json on every change and records history in SQLite. The file \
            formats are described in spoolrunner(5).

            EXIT STATUS
              0    success
              1    a process that failed, or a definition that is invalid
              64   usage: unknown command or option, missing argument, bad value
              65   a value or file given is invalid (the definitions reject it)
              66   no such process, status file or history store
              73   the spool cannot be created or written
              74   the history store cannot be opened or written
              75   another runner holds the spool's lock
              76   the history store's schema (SQLite or PostgreSQL) is newer than this spoolrunner
              77   the spool is unsafe (a symlinked or world-writable directory)
              78   the history store belongs to another spool
              124  submit --wait --timeout ran out

            ENVIRONMENT
              SPOOLRUNNER_SPOOL        spool root (default ./spool)
              SPOOLRUNNER_DEFINITIONS  definitions directory (default ./definitions)
              SPOOLRUNNER_DB           history store (default SPOOL/history.sqlite)
              SPOOLRUNNER_STORE        PostgreSQL store URL (migrate, runners)
              SPOOLRUNNER_LOG_LEVEL    log level of serve (default info)
              NO_COLOR                 set and not empty: no colour in log lines

            FILES
              SPOOL/tmp/             clients write requests here first
              SPOOL/inbox/<id>.json  requests, renamed in from tmp/
              SPOOL/control/         cancel and retry messages
              SPOOL/outbox/<id>.json  the status of every process
              SPOOL/rejected/        rejected requests, each with <file>.error.json
              SPOOL/logs/<id>/       output of every task attempt
              SPOOL/history.sqlite   the history store
              SPOOL/runner.json      the runner's heartbeat
              DEFINITIONS/<type>.yaml  process definitions

            EXAMPLES
              spoolrunner init demo && cd demo
              spoolrunner serve &
              spoolrunner submit hello name=world --wait
              spoolrunner status proc_0123456789ab
              spoolrunner history --status failed --since 1d
              spoolrunner validate --definitions /etc/spoolrunner/definitions
            """,
        version: Version.current,
        subcommands: [
            ServeCommand.self, SubmitCommand.self, StatusCommand.self, HistoryCommand.self, EventsCommand.self,
            CancelCommand.self, RetryCommand.self, ValidateCommand.self, InitCommand.self, PruneCommand.self,
            RejectionsCommand.self, SchemaCommand.self, SchedulesCommand.self, WatchCommand.self,
            MigrateCommand.self, RunnersCommand.self, StoreCommand.self,
        ]
    )

    /// `help NAME` for a command that does not exist is a usage error (64), not the root's help
    /// with exit 0, which would hide a typo in a script.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let unknown = HelpTopic.unknownCommand(in: arguments, root: Self.self) {
            FileHandleOutput.write(
                """
                spoolrunner: no such command '\(unknown.name)'\(unknown.parent.isEmpty ? "" : " under '\(unknown.parent)'"); \
                commands: \(unknown.known.joined(separator: ", "))
                Usage: spoolrunner help [<command>]

                """)
            Foundation.exit(64)
        }
        await Self.main(nil)
    }
}
