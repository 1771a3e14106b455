/// A 5-field cron expression (minute hour day-of-month month day-of-week) or a macro
/// (`@hourly`, `@daily`, ...), evaluated in UTC.
public struct CronExpression: Sendable, Hashable {
    /// The text as written.
    public var source: String
}
