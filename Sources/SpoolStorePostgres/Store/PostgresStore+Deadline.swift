extension PostgresStore {
    /// How long a store call may go without an answer before it is given up: the sessions'
    /// `statement_timeout` (30 s) ends any one statement on the server sooner, so only a call
    /// whose answer can no longer come waits this long.
    static let storeCallLimit: Duration = .seconds(45)

    /// The reads of the status files' reconciliation, made on the status writer's own thread:
    /// a pass that fails comes again, and while one waits, no status file is written.
    static let reconcileCallLimit: Duration = .seconds(15)

    /// Runs `body` in a task of its own, raced against `limit` (nil: no limit) and the calling
    /// task's cancellation; past either, the task is cancelled and left behind, and this throws. For the calls a runner must get past to work again
    /// (re-registering after its fence): PostgreSQL's `statement_timeout` ends a slow statement
    /// on the server, but nothing ends the wait of a client whose replies are lost while its
    /// connection stays open. A task group would wait for the stuck call, hence a task of its own.
    static func withDeadline<T: Sendable>(
        _ limit: Duration?, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let (outcomes, continuation) = AsyncStream<Result<T, any Error>>.makeStream()
        let work = Task {
            do {
                continuation.yield(.success(try await body()))
            } catch {
                continuation.yield(.failure(error))
            }
        }
        let timer = Task {
            guard let limit else { return }
            try? await Task.sleep(for: limit)
            continuation.yield(
                .failure(PostgresStoreError(.database, "\(what): no answer from the database within \(limit)")))
        }
        defer { timer.cancel() }
        var iterator = outcomes.makeAsyncIterator()
        let first = await withTaskCancellationHandler {
            await iterator.next()
        } onCancel: {
            work.cancel()
            continuation.finish()
        }
        guard let first else { throw CancellationError() }
        if case .failure = first { work.cancel() }
        return try first.get()
    }
}
