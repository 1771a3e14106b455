import Foundation
import ProcessDefinitions

/// `outbox/<process_id>.json` (SPEC §4): a projection of one process's history rows.
///
/// Every key is always present (null when unknown), so a client can read fields without
/// checking for their existence. An edge of the domain: times are text here, as in the file. Written by `jsonData()` (key order as in the SPEC), read back
/// with `Decodable` by the CLI and the tests.
package struct StatusDocument: Decodable, Sendable {
    /// The `error` object as a client reads it: its `code` as text, so that a file written by
    /// another version, with a code this one does not know, still reads.
    package struct ErrorObject: Decodable, Sendable, Hashable {
        package var code: String
        package var message: String
        package var task: String?

        package init(_ failure: FailureInfo) {
            code = failure.code.rawValue
            message = failure.message
            task = failure.task
        }
    }

    package struct Task: Decodable, Sendable {
        package var taskName: String
        package var mode: String
        package var status: TaskStatus
        package var attempts: Int
        package var startedAt: String?
        package var endedAt: String?
        package var exitCode: Int?
        package var output: [String: JSONValue]?
        package var error: ErrorObject?

        enum CodingKeys: String, CodingKey {
            case taskName = "task_name"
            case mode, status, attempts
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case exitCode = "exit_code"
            case output, error
        }
    }

    package var processID: String
    package var processType: String?
    package var status: ProcessStatus
    package var inputs: [String: JSONValue]?
    package var createdAt: String?
    package var startedAt: String?
    package var endedAt: String?
    package var updatedAt: String
    package var tasks: [Task]
    package var error: ErrorObject?

    enum CodingKeys: String, CodingKey {
        case processID = "process_id"
        case processType = "process_type"
        case status, inputs
        case createdAt = "created_at"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case updatedAt = "updated_at"
        case tasks, error
    }

    package init(process: ProcessRecord, tasks: [TaskRecord]) {
        processID = process.processID
        processType = process.processType
        status = process.status
        inputs = process.inputs
        createdAt = Timestamp.string(process.createdAt)
        startedAt = process.startedAt.map(Timestamp.string)
        endedAt = process.endedAt.map(Timestamp.string)
        updatedAt = Timestamp.string(process.updatedAt)
        error = process.error.map(ErrorObject.init)
        // on_failure tasks are listed only once they have run (SPEC §4).
        self.tasks = tasks.sorted { $0.position < $1.position }
            .filter { !$0.onFailure || $0.attempts > 0 }
            .map {
                Task(
                    taskName: $0.taskName, mode: $0.mode.rawValue, status: $0.status, attempts: $0.attempts,
                    startedAt: $0.startedAt.map(Timestamp.string), endedAt: $0.endedAt.map(Timestamp.string),
                    exitCode: $0.exitCode,
                    output: $0.output, error: $0.error.map(ErrorObject.init))
            }
    }

    /// The document of a request that was rejected before any process existed.
    package init(rejectedID: String, processType: String?, error: FailureInfo, at date: Date) {
        let at = Timestamp.string(date)
        processID = rejectedID
        self.processType = processType
        status = .rejected
        inputs = nil
        createdAt = at
        startedAt = nil
        endedAt = at
        updatedAt = at
        tasks = []
        self.error = ErrorObject(error)
    }

    /// The file's bytes: keys in the order of SPEC §4, one top-level key per line and one task
    /// per line, like the example there (JSONEncoder on Linux does not keep key order).
    package func jsonData() -> Data {
        func string(_ value: String?) -> String { value.map { JSONValue.string($0).compactJSON } ?? "null" }
        func object(_ value: [String: JSONValue]?) -> String {
            value.map { JSONValue.object($0).compactJSON } ?? "null"
        }
        func failure(_ value: ErrorObject?) -> String {
            guard let value else { return "null" }
            return
                "{\"code\": \(string(value.code)), \"message\": \(string(value.message)), \"task\": \(string(value.task))}"
        }
        let taskLines = tasks.map { task in
            "    {\"task_name\": \(string(task.taskName)), \"mode\": \(string(task.mode)), \"status\": \(string(task.status.rawValue)), "
                + "\"attempts\": \(task.attempts), \"started_at\": \(string(task.startedAt)), \"ended_at\": \(string(task.endedAt)), "
                + "\"exit_code\": \(task.exitCode.map(String.init) ?? "null"), \"output\": \(object(task.output)), \"error\": \(failure(task.error))}"
        }
        let tasksText = taskLines.isEmpty ? "[]" : "[\n" + taskLines.joined(separator: ",\n") + "\n  ]"
        let text = """
            {
              "process_id": \(string(processID)),
              "process_type": \(string(processType)),
              "status": \(string(status.rawValue)),
              "inputs": \(object(inputs)),
              "created_at": \(string(createdAt)),
              "started_at": \(string(startedAt)),
              "ended_at": \(string(endedAt)),
              "updated_at": \(string(updatedAt)),
              "tasks": \(tasksText),
              "error": \(failure(error))
            }

            """
        return Data(text.utf8)
    }
}
