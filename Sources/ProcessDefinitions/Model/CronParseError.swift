/// Why a cron expression could not be read: which field is wrong and what would be valid.
public struct CronParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
