/// A runner session just recorded, and the one before it.
public struct SessionStart: Sendable {
    public var sessionID: Int64
    /// The previous runner's session: `cleanExit == false` means it crashed.
    public var previous: RunnerSessionRecord?

    public init(sessionID: Int64, previous: RunnerSessionRecord?) {
        self.sessionID = sessionID
        self.previous = previous
    }
}
