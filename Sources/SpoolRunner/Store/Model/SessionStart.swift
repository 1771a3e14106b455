import Foundation

/// A runner session just recorded, and the one before it.
public struct SessionStart: Sendable {
    public var sessionID: Int64
    /// The previous runner's session: `cleanExit == false` means it crashed.
    public var previous: RunnerSessionRecord?
    /// When the first of the sessions that ended without a clean stop since the last clean one
    /// started (the previous session's start, unless several crashed in a row); nil when the
    /// previous session stopped cleanly or there was none. Rejection recovery looks back to it:
    /// a session killed before it committed what it recovered leaves that to the next one.
    public var uncleanSince: Date?

    public init(sessionID: Int64, previous: RunnerSessionRecord?, uncleanSince: Date? = nil) {
        self.sessionID = sessionID
        self.previous = previous
        self.uncleanSince = uncleanSince
    }
}
