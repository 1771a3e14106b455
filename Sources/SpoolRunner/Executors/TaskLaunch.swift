import Foundation
import ProcessDefinitions

/// Everything an executor needs to run one attempt of one task, fully rendered: no template and
/// no definition lookup is left for the executor.
public struct TaskLaunch: Sendable {
    public enum Action: Sendable {
        /// `executable` is an absolute path; `arguments` excludes argv[0].
        case command(executable: String, arguments: [String])
        case sleep(Duration)
    }

    public var processID: String
    public var taskName: String
    public var attempt: Int
    public var action: Action
    /// `NAME=value` entries: the whole environment of the child.
    public var environment: [String]
    public var standardInput: Data
    public var workDirectory: String
    public var logFile: String
    public var timeout: Duration?
    /// The spool whose `work/<id>/` and `logs/<id>/` these are: when set, both are opened from
    /// its root without following a symlink planted in the spool (see `SpoolDirectory`).
    public var layout: SpoolLayout? = nil
}

/// How one attempt ended, as the executor saw it.
public struct TaskOutcome: Sendable {
    public var exitCode: Int?
    /// The last non-empty line of standard output, when it is a JSON object.
    public var output: [String: JSONValue]?
    /// nil on success.
    public var failure: FailureInfo?
    /// When the attempt ended, as the executor saw it (the engine may record it a little later).
    public var endedAt: Date

    public init(
        exitCode: Int? = nil, output: [String: JSONValue]? = nil, failure: FailureInfo? = nil, endedAt: Date = Date()
    ) {
        self.exitCode = exitCode
        self.output = output
        self.failure = failure
        self.endedAt = endedAt
    }
}
