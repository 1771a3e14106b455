/// The one conversion from `Duration` (definitions, the command line and the engine all keep
/// durations as `Duration`) to the seconds `Date` arithmetic and timers take.
extension Duration {
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
