import Foundation

/// One condition the runner is waiting out: what hit it, why, where, and since when.
package struct PauseCondition: Sendable {
    package var source: PauseSource
    package var reason: PauseReason
    /// The failed write, with the path and the real error (`No space left on device`, ...).
    package var message: String
    /// The file or directory whose write failed; a probe there tells when the condition is over.
    package var path: String
    package var since: Date
    /// When it cleared, for `last_error` in runner.json.
    package var endedAt: Date?

    /// runner.json's `paused` (and `last_error`) object.
    var json: [String: String] {
        var object = [
            "reason": reason.rawValue, "source": source.rawValue, "message": message, "path": path,
            "since": Timestamp.string(since),
        ]
        if let endedAt { object["ended_at"] = Timestamp.string(endedAt) }
        return object
    }
}
