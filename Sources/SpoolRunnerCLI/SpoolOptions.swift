import ArgumentParser
import Foundation
import SpoolRunner

/// `--spool` and `--db`, shared by every command that reads or writes the history store.
struct SpoolOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("Spool root (env SPOOLRUNNER_SPOOL).", valueName: "DIR"), completion: .directory
    )
    var spool: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_SPOOL"] ?? "./spool"

    @Option(
        name: .long,
        help: ArgumentHelp("History store (default SPOOL/history.sqlite; env SPOOLRUNNER_DB).", valueName: "FILE"),
        completion: .file(extensions: ["sqlite"]))
    var db: String?

    var layout: SpoolLayout { SpoolLayout(root: spool) }
    var databasePath: String { db ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_DB"] ?? layout.defaultDatabase }

    /// The store, read-only. It is opened on the first read, which fails with `.notFound`
    /// (exit 66) when no runner has created it.
    func openReadOnly() -> any StoreReader {
        SQLiteStore(readOnlyPath: databasePath)
    }
}

/// `--spool` alone, for the commands that only touch spool files (`submit`, `status`): they
/// take no `--db`, since they would have nothing to do with it.
struct SpoolRootOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("Spool root (env SPOOLRUNNER_SPOOL).", valueName: "DIR"), completion: .directory
    )
    var spool: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_SPOOL"] ?? "./spool"

    var layout: SpoolLayout { SpoolLayout(root: spool) }
}

/// `--definitions`.
struct DefinitionsOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("Definitions directory (env SPOOLRUNNER_DEFINITIONS).", valueName: "DIR"),
        completion: .directory)
    var definitions: String = ProcessInfo.processInfo.environment["SPOOLRUNNER_DEFINITIONS"] ?? "./definitions"
}
