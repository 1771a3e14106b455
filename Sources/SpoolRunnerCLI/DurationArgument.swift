import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// A duration on the command line: `250ms`, `5s`, `2m`, `1h`, `1d`.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        guard let duration = DurationParser.parse(argument) else { return nil }
        self.duration = duration
    }

    static var defaultCompletionKind: CompletionKind { .default }

    var description: String { DurationParser.format(duration) }
    var defaultValueDescription: String { description }
}

/// A point in time: ISO 8601 (`2026-07-20T15:00:00Z`, `2026-07-20`) or a duration before now (`2h`, `7d`).
struct TimeArgument: ExpressibleByArgument, Sendable {
    var date: Date

    init?(argument: String) {
        if let duration = DurationParser.parse(argument) {
            date = Date().addingTimeInterval(-duration.seconds)
        } else if let date = Timestamp.parse(argument) {
            self.date = date
        } else {
            return nil
        }
    }
}
