import ArgumentParser
import Dispatch
import Foundation
import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `spoolrunner watch`: a live terminal view of running and recently ended processes. Reads only
/// the spool and the store (read-only), never the runner's memory; redraws when a status file
/// changes (inotify on outbox/) and at least every `--interval`.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Live view of running and recent processes (q or Ctrl-C quits).",
        discussion: """
            On a terminal it redraws one screen. When standard output is not a terminal, or NO_COLOR
            is set, it prints plain lines instead: one per process change, with the time.
            """
    )

    @OptionGroup var spool: SpoolOptions

    @Option(help: ArgumentHelp("Redraw at least this often.", valueName: "DUR"))
    var interval: DurationArgument = DurationArgument(.milliseconds(500))

    func run() throws {
        let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        var view = WatchView(layout: spool.layout, databasePath: spool.databasePath, interval: interval.duration)
        if isatty(STDOUT_FILENO) == 1 && !noColor {
            view.live()
        } else {
            view.plain()
        }
    }
}
