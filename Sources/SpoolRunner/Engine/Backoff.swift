/// Waits between retries of something that failed: doubling from `initial` up to `maximum`, so a
/// long outage costs a retry every few seconds, never a busy loop.
package struct Backoff: Sendable {
    package var initial: Double = 0.1
    package var maximum: Double = 5
    private var current: Double?

    package init(initial: Double = 0.1, maximum: Double = 5) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next wait, in seconds.
    package mutating func next() -> Double {
        let wait = current.map { min($0 * 2, maximum) } ?? initial
        current = wait
        return wait
    }

    package mutating func reset() { current = nil }
}
