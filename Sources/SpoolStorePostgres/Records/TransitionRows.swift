import Foundation

/// A batch of transitions as the store's statements read them (`jsonb_to_recordset` /
/// `jsonb_array_elements`): every row carries its process id, task rows the runner that ran them.
/// Shared by the multi-statement writes (reaper, control, copy, schedules) and the one-call
/// commit function, so both write exactly the same columns.
struct TransitionRows: Encodable {
    /// One change of a process, as a row: the change's own columns plus `process_id`, and for a
    /// task the runner that ran it (left out when nil, so the row keeps what it had).
    struct Row<Change: Encodable>: Encodable {
        var processID: String
        var runnerID: String? = nil
        var change: Change
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
    typealias ProcessRow = Row<ProcessTransition.Process>
    typealias TaskRow = Row<ProcessTransition.Task>
    typealias EventRow = Row<ProcessTransition.Event>

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
