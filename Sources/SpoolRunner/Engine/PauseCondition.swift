import Foundation

/// One condition the runner is waiting out: what hit it, why, where, and since when.
public struct PauseCondition: Sendable {
    public var source: PauseSource
    public var reason: PauseReason
    /// The failed write, with the path and the real error (`No space left on device`, ...).
    public var message: String
    /// The file or directory whose write failed; a probe there tells when the condition is over.
    public var path: String
    public var since: Date
    /// When it cleared, for `last_error` in runner.json.
    public var endedAt: Date?

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
