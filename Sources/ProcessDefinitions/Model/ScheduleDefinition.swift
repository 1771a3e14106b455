/// One `schedule:` entry: the runner submits a request of this type itself at each cron time.
public struct ScheduleDefinition: Sendable {
    public var cron: CronExpression
    public var inputs: [String: JSONValue]

    public init(cron: CronExpression, inputs: [String: JSONValue] = [:]) {
        self.cron = cron
        self.inputs = inputs
    }
}
