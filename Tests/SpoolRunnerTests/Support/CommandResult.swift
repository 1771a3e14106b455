/// The result of a finished command.
struct CommandResult: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
}
