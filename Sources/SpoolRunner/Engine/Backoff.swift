/// Waits between retries of something that failed: doubling from `initial` up to `maximum`, so a
/// long outage costs a retry every few seconds, never a busy loop.
public struct Backoff: Sendable {
    public var initial: Double = 0.1
    public var maximum: Double = 5
    private var current: Double?

    public init(initial: Double = 0.1, maximum: Double = 5) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next wait, in seconds.
    public mutating func next() -> Double {
        let wait = current.map { min($0 * 2, maximum) } ?? initial
        current = wait
        return wait
    }

    public mutating func reset() { current = nil }
}
