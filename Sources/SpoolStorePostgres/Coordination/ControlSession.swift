import Foundation
import Logging
import SpoolRunner
import Synchronization

/// The runner's one control connection (SPEC §9), shared by `leadership()` and `changes()`:
/// the leader lock and every LISTEN ride on the same session, so a runner needs at most its
/// pool and this one connection (P7: ≤ 5 with the default pool of 4).
///
/// Starts with the first stream asked for and stops when either stream ends (the engine ends
/// both together): a leader that stops unlocks and notifies `spoolrunner_leader`.
final class ControlSession: Sendable {
    struct State {
        var leadership: AsyncStream<Bool>.Continuation?
        var changes: AsyncStream<StoreChange>.Continuation?
        var task: Task<Void, Never>?
    }

    let state = Mutex(State())
    let election: LeaderElection
    let listens: Bool
    let statusChannel: String?

    init(election: LeaderElection, listens: Bool, statusChannel: String? = nil) {
        self.election = election
        self.listens = listens
        self.statusChannel = statusChannel
    }

    func attachLeadership(_ continuation: AsyncStream<Bool>.Continuation) {
        state.withLock { $0.leadership = continuation }
        continuation.onTermination = { [self] _ in stop() }
        start()
    }

    func attachChanges(_ continuation: AsyncStream<StoreChange>.Continuation) {
        state.withLock { $0.changes = continuation }
        continuation.onTermination = { [self] _ in stop() }
        // Attached to a session already listening: whatever came before is looked at again.
        continuation.yield(.resynchronize)
        start()
    }

    private func start() {
        state.withLock { current in
            guard current.task == nil else { return }
            current.task = Task { [self] in
                await election.run(listening: listener(), contest: { [self] in wantsLeadership }) { [self] leads in
                    _ = state.withLock { $0.leadership }?.yield(leads)
                }
                let (leadership, changes) = state.withLock { ($0.leadership, $0.changes) }
                leadership?.finish()
                changes?.finish()
            }
        }
    }

    private func stop() {
        state.withLock { $0.task }?.cancel()
    }

    private var wantsLeadership: Bool { state.withLock { $0.leadership != nil } }

    private func listener() -> LeaderElection.Listener? {
        guard listens else { return nil }
        var channels = [PostgresStore.workChannel]
        if let statusChannel { channels.append(statusChannel) }
        return LeaderElection.Listener(
            channels: channels,
            onListening: { [self] in
                _ = state.withLock { $0.changes }?.yield(.resynchronize)
            },
            onNotification: { [self] channel, payload in
                guard let changes = state.withLock({ $0.changes }) else { return }
                if channel == PostgresStore.workChannel {
                    if payload.hasPrefix(PostgresStore.cancelPrefix) {
                        changes.yield(.cancelRequested([String(payload.dropFirst(PostgresStore.cancelPrefix.count))]))
                    } else {
                        changes.yield(.work)
                    }
                } else {
                    let ids = payload.split(separator: " ").map(String.init)
                    if !ids.isEmpty { changes.yield(.statusChanged(ids)) }
                }
            })
    }
}
