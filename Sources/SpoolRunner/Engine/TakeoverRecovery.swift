import Foundation
import ProcessDefinitions

/// SPEC §6's recovery for a process taken over from a runner that died on another host: the
/// same `ProcessRun.recoverFromRunnerDeath` that restart recovery applies, for stores whose
/// reaper runs outside the engine (the PostgreSQL store's leader).
package enum TakeoverRecovery {
    /// The process's rows after recovery and the events it adds. A takeover counts as a crash
    /// when a task was running: the dead runner was running it.
    package static func recover(
        record: ProcessRecord, tasks: [TaskRecord], definition: ProcessDefinition, at now: Date
    ) -> (record: ProcessRecord, tasks: [TaskRecord], events: [EventRecord]) {
        var run = ProcessRun.restore(record: record, rows: tasks, definition: definition, sequence: 0)
        let running = run.tasks.contains { $0.status == .running }
        run.recoverFromRunnerDeath(countsAsCrash: running, at: now)
        return (run.record, run.tasks, run.newEvents)
    }
}
