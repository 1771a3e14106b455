/// What runs one attempt of one task for the engine: `TaskExecutor` (a child process, or a
/// `sleep:`), or, in the engine's tests, a fake that lets the test decide when and how each
/// attempt ends.
///
/// The contract the engine relies on: `run` never throws (every failure is an outcome); it
/// honours `stop` (cancel, process timeout, shutdown) by ending the attempt with the outcome
/// `TaskExecutor.stopped` gives; and it calls `spawned` once a child exists, if there is one.
protocol TaskExecuting: Sendable {
    func run(_ launch: TaskLaunch, stop: StopHandle, spawned: @escaping @Sendable (Int32, Int64?) -> Void) async
        -> TaskOutcome
}

extension TaskExecutor: TaskExecuting {}
