import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

/// The process page's timeline: one bar per task attempt on a shared time axis, as inline SVG,
/// so that the seed's sync/async overlap shows at a glance.
///
/// Attempts come from the `events` table (`task_started` opens one, the next ending event of the
/// same task closes it); an attempt still open runs to the process's end, or to now.
struct Timeline {
    var rows: [String]
    var bars: [TimelineBar]

    init(taskOrder: [String], events: [EventRecord], openUntil: Date) {
        var bars: [TimelineBar] = []
        var open: [String: (attempt: Int, start: Date)] = [:]
        let endings: [EventKind: TimelineBar.Outcome] = [
            .taskSucceeded: .success, .taskFailed: .failed, .taskRetrying: .retrying,
            .taskCancelled: .cancelled, .taskInterrupted: .interrupted,
        ]
        for event in events {
            guard let task = event.taskName else { continue }
            let at = event.at
            let kind = event.event
            if kind == .taskStarted {
                var attempt = bars.filter { $0.task == task }.count + 1
                if case .integer(let number)? = event.detail?["attempt"] {
                    attempt = Int(number)
                }
                open[task] = (attempt, at)
            } else if let outcome = endings[kind], let started = open.removeValue(forKey: task) {
                bars.append(
                    TimelineBar(
                        task: task, attempt: started.attempt, start: started.start, end: max(at, started.start),
                        outcome: outcome))
            }
        }
        for (task, started) in open {
            bars.append(
                TimelineBar(
                    task: task, attempt: started.attempt, start: started.start, end: max(openUntil, started.start),
                    outcome: .running))
        }
        let known = Set(taskOrder)
        let extra = bars.map(\.task).filter { !known.contains($0) }
        var seen = Set<String>()
        self.rows = (taskOrder + extra).filter { seen.insert($0).inserted }
        self.bars = bars.sorted { ($0.start, $0.attempt) < ($1.start, $1.attempt) }
    }

    static let labelWidth = 190.0
    static let chartWidth = 640.0
    static let rowHeight = 26.0
    static let axisHeight = 24.0

    var svg: String {
        guard let first = bars.map(\.start).min(), let last = bars.map(\.end).max() else {
            return "<p class=\"muted\">No task has started yet.</p>"
        }
        let span = max(last.timeIntervalSince(first), 0.001)
        let width = Self.labelWidth + Self.chartWidth + 20
        let height = Self.axisHeight + Double(rows.count) * Self.rowHeight + 6
        func x(_ date: Date) -> Double { Self.labelWidth + date.timeIntervalSince(first) / span * Self.chartWidth }
        var parts: [String] = []
        parts.append(
            "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Task attempts over time\">"
        )
        for tick in 0...4 {
            let offset = span * Double(tick) / 4
            let position = Self.labelWidth + Self.chartWidth * Double(tick) / 4
            parts.append(
                "<line class=\"axis\" x1=\"\(format(position))\" y1=\"\(format(Self.axisHeight - 6))\" x2=\"\(format(position))\" y2=\"\(format(height))\"/>"
            )
            parts.append(
                "<text x=\"\(format(position))\" y=\"12\" text-anchor=\"middle\">+\(Self.seconds(offset))</text>")
        }
        for (index, row) in rows.enumerated() {
            let y = Self.axisHeight + Double(index) * Self.rowHeight
            parts.append("<text x=\"4\" y=\"\(format(y + Self.rowHeight * 0.65))\">\(HTML.escape(row))</text>")
            for bar in bars where bar.task == row {
                let left = x(bar.start)
                let barWidth = max(x(bar.end) - left, 2)
                let took = Self.seconds(bar.end.timeIntervalSince(bar.start))
                parts.append(
                    "<rect class=\"bar bar-\(bar.outcome.rawValue)\" data-task=\"\(HTML.escape(bar.task))\" data-attempt=\"\(bar.attempt)\" x=\"\(format(left))\" y=\"\(format(y + 4))\" width=\"\(format(barWidth))\" height=\"\(format(Self.rowHeight - 8))\"><title>\(HTML.escape(bar.task)) attempt \(bar.attempt): \(bar.outcome.rawValue), \(took)</title></rect>"
                )
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// `0.25 s`, `12.3 s`, `4 min 05 s`.
    static func seconds(_ value: Double) -> String {
        if value < 10 { return String(format: "%.2f s", value) }
        if value < 120 { return String(format: "%.1f s", value) }
        return String(format: "%d min %02d s", Int(value) / 60, Int(value) % 60)
    }
}
