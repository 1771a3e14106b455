/// A batch the store writer is committing, and every side effect that waits for it to be
/// durable (SPEC §6): the request and control files it accepted leave `inbox/`/`control/`, the
/// tasks whose start it records are spawned, its status documents are published, and its
/// events are logged, only once the commit has returned.
///
/// The engine hands one batch at a time to the writer and keeps gathering the next one (intake,
/// ended tasks, ready tasks) while this one commits: group commit without stalling the loop.
/// Should the commit fail on a busy or full store, `restore` puts every change back as
/// uncommitted, so the next batch carries it again and nothing is lost.
struct CommitInFlight {
    typealias Launch = (launch: TaskLaunch, key: ProcessEngine.AttemptKey, handle: StopHandle)

    var batch: StoreBatch
    /// For each process of the batch, the indexes of the task rows it writes.
    var taskIndexes: [String: [Int]]
    var filesToRemove: [String]
    var launches: [Launch]
    /// Each process's status document as the batch records it.
    var documents: [StatusDocument]
}
