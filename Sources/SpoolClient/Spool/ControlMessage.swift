import Foundation

/// `control/<any-name>.json` = `{"action": "cancel" | "retry", "process_id": "..."}`.
///
/// Written by clients (`spoolrunner cancel`, the HTTP gateway), read by the runner's intake.
public struct ControlMessage: Sendable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable { case cancel, retry }

    public var action: Action
    public var processID: String

    enum CodingKeys: String, CodingKey {
        case action
        case processID = "process_id"
    }

    public init(action: Action, processID: String) {
        self.action = action
        self.processID = processID
    }
}
