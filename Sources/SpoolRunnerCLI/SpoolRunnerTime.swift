import Foundation
import SpoolRunner

/// Time helpers for the commands.
enum SpoolRunnerTime {
    /// `1.234s`, `2m05s`, for durations shown to people.
    static func elapsed(from start: String?, to end: String?) -> String? {
        guard let start = start.flatMap(Timestamp.parse) else { return nil }
        let stop = end.flatMap(Timestamp.parse) ?? Date()
        let seconds = stop.timeIntervalSince(start)
        if seconds < 60 { return String(format: "%.3fs", seconds) }
        let minutes = Int(seconds) / 60
        return String(format: "%dm%02ds", minutes, Int(seconds) % 60)
    }
}
