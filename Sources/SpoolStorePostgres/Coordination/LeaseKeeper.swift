import Logging

/// Keeps a runner's lease alive, and says when the runner must fence itself.
///
/// Renews every lease/5 (3 s at the default 15 s). It ends, once, when
/// - a renewal updates no row (`.leaseLost`): the lease expired or was taken, this incarnation
///   is over;
/// - the self-fencing deadline passes without a successful renewal (`.deadlinePassed`): the
///   database may be unreachable, and the lease ends there at the latest lease − margin from
///   now, so the runner stops claiming and kills its tasks before anyone may take them over;
/// - the calling task is cancelled (`.cancelled`, a graceful stop).
public struct LeaseKeeper: Sendable {
    public enum End: Sendable, Equatable {
        case leaseLost, deadlinePassed, cancelled
    }

    let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    private enum Outcome: Sendable {
        case renewed(Lease)
        case lost
        case failed(String)
        case deadline
    }

    /// - Parameters:
    ///   - runningTasks: recorded with each renewal (`runners.running_tasks`).
    ///   - renewed: called with each renewed lease.
    public func run(
        _ lease: Lease, runningTasks: @escaping @Sendable () async -> Int = { 0 },
        renewed: @Sendable (Lease) async -> Void = { _ in }
    ) async -> End {
        var lease = lease
        while !Task.isCancelled {
            guard ContinuousClock.now < lease.deadline else { return .deadlinePassed }
            switch await renewBefore(lease, runningTasks: runningTasks) {
            case .renewed(let next):
                lease = next
                await renewed(next)
                try? await Task.sleep(for: lease.renewalInterval)
            case .lost:
                logger.error("lease lost: this runner's lease expired or was taken over")
                return .leaseLost
            case .deadline:
                logger.error("lease deadline passed without a renewal: fencing this runner")
                return .deadlinePassed
            case .failed(let why):
                logger.warning("lease renewal failed, retrying", metadata: ["error": "\(why)"])
                try? await Task.sleep(for: min(lease.renewalInterval, .milliseconds(500)))
            }
        }
        return .cancelled
    }

    /// One renewal raced against the deadline. The renewal runs in a task of its own, not a
    /// child: a renewal stuck on the network (or on a row lock) must not hold the fence back,
    /// and a task group would wait for it.
    private func renewBefore(_ lease: Lease, runningTasks: @escaping @Sendable () async -> Int) async -> Outcome {
        let (outcomes, continuation) = AsyncStream<Outcome>.makeStream()
        let store = self.store
        let renewal = Task {
            do {
                continuation.yield(.renewed(try await store.renew(lease, runningTasks: await runningTasks())))
            } catch let error as PostgresStoreError where error.code == .leaseLost {
                continuation.yield(.lost)
            } catch {
                continuation.yield(.failed(PostgresStoreError.explain(error)))
            }
        }
        let timer = Task {
            try? await Task.sleep(until: lease.deadline, clock: .continuous)
            continuation.yield(.deadline)
        }
        defer { timer.cancel() }
        let first = await withTaskCancellationHandler {
            var iterator = outcomes.makeAsyncIterator()
            return await iterator.next()
        } onCancel: {
            renewal.cancel()
            continuation.finish()
        }
        // Cancelled while waiting: the loop sees it and ends.
        return first ?? .failed("cancelled")
    }
}
