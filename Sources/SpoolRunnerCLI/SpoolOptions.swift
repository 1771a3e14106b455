import ArgumentParser
import Foundation
import SpoolRunner

/// `--spool` and `--db`, shared by every command that touches a spool.
struct SpoolOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Spool root (env SPOOLRUNNER_SPOOL).", valueName: "DIR"))
    var spool: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_SPOOL"] ?? "./spool"

    @Option(name: .long, help: ArgumentHelp("History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).", valueName: "FILE"))
    var db: String?

    var layout: SpoolLayout { SpoolLayout(root: spool) }
    var databasePath: String { db ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_DB"] ?? layout.defaultDatabase }

    /// Opens the store read-only, or exits 66.
    func openReadOnly() throws -> HistoryStore {
        do {
            return try HistoryStore(readOnlyPath: databasePath)
        } catch {
            throw fail(error.description, ExitStatus.noInput)
        }
    }
}

/// `--definitions`.
struct DefinitionsOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Definitions directory (env SPOOLRUNNER_DEFINITIONS).", valueName: "DIR"))
    var definitions: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_DEFINITIONS"] ?? "./definitions"
}
