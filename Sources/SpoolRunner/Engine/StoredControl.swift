import Foundation
import ProcessDefinitions

/// `cancel` and `retry` applied by the store to a process no runner holds (SPEC §9: "Cancel and
/// retry from any host"), with the same `ProcessRun` transitions the engine applies to a process
/// it holds, so the result is the same whichever host acted.
package enum StoredControl {
    /// The changed rows of a process after a control action: the process record, only the task
    /// rows that changed, and the new events.
    package typealias Change = (record: ProcessRecord, tasks: [TaskRecord], events: [EventRecord])

    /// Cancels an unfinished process: pending tasks are skipped, retrying ones cancelled, and it
    /// ends `cancelled` unless a task is still recorded `running` (its runner stopped before
    /// recording its end): then the cancel is recorded, and the runner that claims the process
    /// next applies SPEC §6's rule to that task and ends the process `cancelled`.
    package static func cancel(
        record: ProcessRecord, tasks: [TaskRecord], definition: ProcessDefinition, at now: Date
    ) -> Change {
        var run = ProcessRun.restore(record: record, rows: tasks, definition: definition, sequence: 0)
        _ = run.requestCancel(now)
        _ = run.advance(now: now)
        return changes(of: run)
    }

    /// Sets a failed or cancelled process back to `pending` from its unfinished tasks, keeping the
    /// finished ones (SPEC §8's `retry`), for any runner to claim.
    package static func retry(
        record: ProcessRecord, tasks: [TaskRecord], definition: ProcessDefinition, at now: Date
    ) -> Change {
        var run = ProcessRun.restore(record: record, rows: tasks, definition: definition, sequence: 0)
        run.redrive(now)
        return changes(of: run)
    }

    private static func changes(of run: ProcessRun) -> Change {
        (run.record, run.dirtyTasks.sorted().map { run.tasks[$0] }, run.newEvents)
    }
}
