/// A task's `retry:`: how many attempts in all, and how long to wait between them.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts including the first; 1 means no retry.
    public var maxAttempts: Int
    /// Wait before the second attempt; doubled for each next one.
    public var backoff: Duration
    /// Upper bound of the wait.
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 1, backoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// The wait after failed attempt number `attempt` (1-based): `backoff * 2^(attempt-1)` capped at
    /// `maxBackoff`, then "equal jitter" (half fixed, half random) so that many processes failing
    /// together do not all retry in the same millisecond.
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
        let exponent = Swift.min(Swift.max(attempt - 1, 0), 30)
        let base = backoff * (1 << exponent)
        let capped = Swift.min(base, maxBackoff)
        return capped / 2 + (capped / 2) * random
    }
}
