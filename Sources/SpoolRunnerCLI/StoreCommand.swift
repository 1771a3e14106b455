import ArgumentParser

/// `spoolrunner store …`: work on a PostgreSQL store as a whole.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Work on a PostgreSQL store (SPEC §9): copy a spool's SQLite history into it.",
        subcommands: [StoreCopyCommand.self]
    )
}
