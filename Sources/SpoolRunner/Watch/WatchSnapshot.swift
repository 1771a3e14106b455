import Foundation

/// What `spoolrunner watch` shows, read from the spool and the store only (never from the
/// runner's memory): the inbox backlog, the runner's heartbeat, the unfinished processes and the
/// most recently created ended ones, each with its task progress.
package struct WatchSnapshot: Sendable, Equatable {
    package struct Process: Sendable, Equatable {
        package var processID: String
        package var processType: String
        package var status: ProcessStatus
        package var tasksEnded: Int
        package var tasksTotal: Int
        /// The first running task and when it started.
        package var runningTask: String?
        package var runningTaskStartedAt: Date?
        package var startedAt: Date?
        package var endedAt: Date?
    }

    package var inboxWaiting: Int
    /// `runner.json`'s pid and state, when there is one.
    package var runnerPID: Int?
    package var runnerState: String?
    package var processes: [Process]

    /// How many ended processes are shown below the unfinished ones.
    package static let recentLimit = 10
    /// Unfinished processes shown at most (a huge backlog is summarised by the counts).
    package static let unfinishedLimit = 200

    package var running: Int { processes.filter { $0.status == .running }.count }
    package var pending: Int { processes.filter { $0.status == .pending }.count }

    /// Reads a snapshot. `store` is nil while no runner has created the history store yet.
    package static func read(layout: SpoolLayout, store: (any StoreReader)?) async throws -> WatchSnapshot {
        let inbox = ((try? FileManager.default.contentsOfDirectory(atPath: layout.inbox)) ?? [])
            .filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.count
        var pid: Int?
        var state: String?
        if let data = FileManager.default.contents(atPath: layout.heartbeatFile),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            pid = object["pid"] as? Int
            state = object["state"] as? String
        }
        let stored = try await store?.overview(unfinishedLimit: unfinishedLimit, recentLimit: recentLimit) ?? []
        return WatchSnapshot(
            inboxWaiting: inbox, runnerPID: pid, runnerState: state, processes: stored.map(Process.init))
    }
}

extension WatchSnapshot.Process {
    init(_ stored: StoredProcess) {
        let running = stored.tasks.first { $0.status == .running }
        self.init(
            processID: stored.record.processID, processType: stored.record.processType, status: stored.record.status,
            tasksEnded: stored.tasks.filter(\.status.isFinal).count, tasksTotal: stored.tasks.count,
            runningTask: running?.taskName, runningTaskStartedAt: running?.startedAt,
            startedAt: stored.record.startedAt,
            endedAt: stored.record.endedAt)
    }
}
