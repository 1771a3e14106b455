import Foundation
import ProcessDefinitions

/// Everything an executor needs to run one attempt of one task, fully rendered: no template and
/// no definition lookup is left for the executor.
package struct TaskLaunch: Sendable {
    package enum Action: Sendable {
        /// `executable` is an absolute path; `arguments` excludes argv[0].
        case command(executable: String, arguments: [String])
        case sleep(Duration)
    }

    package var processID: String
    package var taskName: String
    package var attempt: Int
    package var action: Action
    /// `NAME=value` entries: the whole environment of the child.
    package var environment: [String]
    package var standardInput: Data
    package var workDirectory: String
    package var logFile: String
    package var timeout: Duration?
    /// The spool whose `work/<id>/` and `logs/<id>/` these are: when set, both are opened from
    /// its root without following a symlink planted in the spool (see `SpoolDirectory`).
    package var layout: SpoolLayout? = nil
}

/// How one attempt ended, as the executor saw it.
package struct TaskOutcome: Sendable {
    package var exitCode: Int?
    /// The last non-empty line of standard output, when it is a JSON object.
    package var output: [String: JSONValue]?
    /// nil on success.
    package var failure: FailureInfo?
    /// When the attempt ended, as the executor saw it (the engine may record it a little later).
    package var endedAt: Date

    package init(
        exitCode: Int? = nil, output: [String: JSONValue]? = nil, failure: FailureInfo? = nil, endedAt: Date = Date()
    ) {
        self.exitCode = exitCode
        self.output = output
        self.failure = failure
        self.endedAt = endedAt
    }
}
