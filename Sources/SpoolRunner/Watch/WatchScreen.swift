import Foundation

/// Renders a `WatchSnapshot`: a header with the backlog and running counts, then one line per
/// process with a progress bar (tasks ended of total), the running task and its elapsed time.
package struct WatchScreen: Sendable {
    package var color: Bool
    package var width: Int

    package init(color: Bool, width: Int) {
        self.color = color
        self.width = max(40, width)
    }

    /// The whole screen, one string per line (no trailing newlines).
    package func lines(_ snapshot: WatchSnapshot, spool: String, now: Date) -> [String] {
        let runner = snapshot.runnerPID.map { "runner pid \($0) \(snapshot.runnerState ?? "?")" } ?? "no runner.json"
        var lines = [
            bold("spoolrunner watch") + "  \(spool)  \(Self.clock(now))  (q to quit)",
            "inbox \(snapshot.inboxWaiting) waiting · \(snapshot.running) running · \(snapshot.pending) pending · \(runner)",
            "",
        ]
        if snapshot.processes.isEmpty {
            lines.append("no processes yet")
            return lines
        }
        let idWidth = min(40, max(7, snapshot.processes.map(\.processID.count).max() ?? 0))
        let typeWidth = min(24, max(4, snapshot.processes.map(\.processType.count).max() ?? 0))
        lines.append(
            bold(Self.pad("PROCESS", idWidth) + "  " + Self.pad("TYPE", typeWidth) + "  PROGRESS           NOW"))
        for process in snapshot.processes {
            lines.append(line(process, idWidth: idWidth, typeWidth: typeWidth, now: now))
        }
        return lines
    }

    /// One process: `id  type  [#####-----] 3/5  build 12.3s` (or its final status).
    package func line(_ process: WatchSnapshot.Process, idWidth: Int = 24, typeWidth: Int = 16, now: Date) -> String {
        let barWidth = 10
        let filled = process.tasksTotal == 0 ? 0 : process.tasksEnded * barWidth / process.tasksTotal
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        let count = Self.pad("\(process.tasksEnded)/\(process.tasksTotal)", 6)
        let what: String
        if let task = process.runningTask {
            let elapsed = process.runningTaskStartedAt.map { Self.elapsed(now.timeIntervalSince($0)) } ?? ""
            what = paint("\(task) \(elapsed)", .yellow)
        } else if process.status.isFinal {
            let took = process.startedAt.map { Self.elapsed((process.endedAt ?? now).timeIntervalSince($0)) } ?? ""
            what =
                paint(process.status.rawValue, process.status == .success ? .green : .red)
                + (took.isEmpty ? "" : " \(took)")
        } else {
            what = process.status.rawValue
        }
        return Self.pad(process.processID, idWidth) + "  " + Self.pad(process.processType, typeWidth)
            + "  \(bar) \(count) \(what)"
    }

    enum Color: String {
        case green = "32"
        case red = "31"
        case yellow = "33"
    }

    func paint(_ text: String, _ color: Color) -> String {
        self.color ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    func bold(_ text: String) -> String {
        color ? "\u{1B}[1m\(text)\u{1B}[0m" : text
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }

    static func elapsed(_ seconds: TimeInterval) -> String {
        if seconds < 60 { return String(format: "%.1fs", max(0, seconds)) }
        return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }

    static func clock(_ date: Date) -> String {
        String(Timestamp.string(date).dropFirst(11).prefix(8)) + "Z"
    }
}
