import Foundation

/// `control/<any-name>.json` = `{"action": "cancel" | "retry", "process_id": "..."}`, or
/// `{"action": "prune", "before": "<ISO 8601 UTC>"}` from `spoolrunner prune` while a runner
/// holds the spool (the runner prunes, so it never loses a process it is redriving).
///
/// Written by clients (`spoolrunner cancel`, the HTTP gateway), read by the runner's intake.
public struct ControlMessage: Sendable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable { case cancel, retry, prune }

    public var action: Action
    /// The process acted on; empty for `prune`.
    public var processID: String
    /// `prune`: processes that ended before this stamp are deleted.
    public var before: String?

    enum CodingKeys: String, CodingKey {
        case action
        case processID = "process_id"
        case before
    }

    public init(action: Action, processID: String) {
        self.action = action
        self.processID = processID
    }

    /// A `prune` message: what ended before `before` is deleted.
    public static func prune(before: String) -> ControlMessage {
        var message = ControlMessage(action: .prune, processID: "")
        message.before = before
        return message
    }
}
