import Foundation
import SpoolRunner

/// The "no runner" notice of the commands that wait (`submit --wait`, `cancel --wait`,
/// `retry --wait`).
///
/// Waiting on a spool that no runner serves would otherwise look exactly like a slow process.
/// The wait goes on (a runner may start later: systemd, cron, a colleague), and the notice is
/// shown again every `interval` while no runner holds the lock.
struct RunnerNotice {
    let layout: SpoolLayout
    var interval: TimeInterval = 30
    private var lastShown: Date?

    init(layout: SpoolLayout) {
        self.layout = layout
    }

    mutating func check(now: Date = Date()) {
        if let lastShown, now.timeIntervalSince(lastShown) < interval { return }
        let presence = RunnerPresence.check(layout)
        guard !presence.isRunning else {
            lastShown = nil
            return
        }
        lastShown = now
        let seen = presence.lastSeen.map { " (a runner was last seen at \($0))" } ?? ""
        FileHandleOutput.write(
            "spoolrunner: no runner holds the lock of \(layout.root)\(seen); still waiting: start one with `spoolrunner serve --spool \(layout.root)`\n"
        )
    }
}
