import Foundation

/// A batch of transitions as the store's statements read them (`jsonb_to_recordset` /
/// `jsonb_array_elements`): every row carries its process id, task rows the runner that ran them.
/// Shared by the multi-statement writes (reaper, control, copy, schedules) and the one-call
/// commit function, so both write exactly the same columns.
struct TransitionRows: Encodable {
    struct ProcessRow: Encodable {
        var processID: String
        var change: ProcessTransition.Process
        func encode(to encoder: any Encoder) throws {
            try change.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(processID, forKey: .processID)
        }
        enum Key: String, CodingKey { case processID = "process_id" }
    }

    struct TaskRow: Encodable {
        var processID: String
        var runnerID: String?
        var change: ProcessTransition.Task
        func encode(to encoder: any Encoder) throws {
            try change.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(processID, forKey: .processID)
            try container.encodeIfPresent(runnerID, forKey: .runnerID)
        }
        enum Key: String, CodingKey {
            case processID = "process_id"
            case runnerID = "runner_id"
        }
    }

    struct EventRow: Encodable {
        var processID: String
        var change: ProcessTransition.Event
        func encode(to encoder: any Encoder) throws {
            try change.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(processID, forKey: .processID)
        }
        enum Key: String, CodingKey { case processID = "process_id" }
    }

    var processes: [ProcessRow]
    var tasks: [TaskRow]
    var events: [EventRow]

    /// - Parameter runnerID: the runner that ran the tasks written (it holds their logs); nil
    ///   keeps each task row's runner as it is (the reaper and control actions).
    init(_ transitions: [ProcessTransition], runnerID: String?) {
        processes = transitions.compactMap { t in t.process.map { ProcessRow(processID: t.processID, change: $0) } }
        tasks = transitions.flatMap { t in
            t.tasks.map { TaskRow(processID: t.processID, runnerID: runnerID, change: $0) }
        }
        events = transitions.flatMap { t in t.events.map { EventRow(processID: t.processID, change: $0) } }
    }
}
