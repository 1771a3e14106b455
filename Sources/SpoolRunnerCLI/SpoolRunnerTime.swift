import Foundation
import SpoolRunner

/// Time helpers for the commands.
enum SpoolRunnerTime {
    /// `1.234s`, `2m05s`, for durations shown to people; until now when `end` is nil.
    static func elapsed(from start: Date?, to end: Date?) -> String? {
        guard let start else { return nil }
        let seconds = (end ?? Date()).timeIntervalSince(start)
        if seconds < 60 { return String(format: "%.3fs", seconds) }
        let minutes = Int(seconds) / 60
        return String(format: "%dm%02ds", minutes, Int(seconds) % 60)
    }

    /// The same for the text times of a status file.
    static func elapsed(from start: String?, to end: String?) -> String? {
        elapsed(from: start.flatMap(Timestamp.parse), to: end.flatMap(Timestamp.parse))
    }
}
