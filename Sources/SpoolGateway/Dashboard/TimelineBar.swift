import Foundation

/// One task attempt on the timeline: when it ran and how it ended.
struct TimelineBar: Sendable, Equatable {
    enum Outcome: String, Sendable {
        case success, failed, retrying, cancelled, interrupted, running
    }

    var task: String
    var attempt: Int
    var start: Date
    var end: Date
    var outcome: Outcome
}
