import Foundation
import GRDB

/// What `spoolrunner watch` shows, read from the spool and the store only (never from the
/// runner's memory): the inbox backlog, the runner's heartbeat, the unfinished processes and the
/// most recently created ended ones, each with its task progress.
public struct WatchSnapshot: Sendable, Equatable {
    public struct Process: Sendable, Equatable {
        public var processID: String
        public var processType: String
        public var status: ProcessStatus
        public var tasksEnded: Int
        public var tasksTotal: Int
        /// The first running task and when it started.
        public var runningTask: String?
        public var runningTaskStartedAt: Date?
        public var startedAt: Date?
        public var endedAt: Date?
    }

    public var inboxWaiting: Int
    /// `runner.json`'s pid and state, when there is one.
    public var runnerPID: Int?
    public var runnerState: String?
    public var processes: [Process]

    /// How many ended processes are shown below the unfinished ones.
    public static let recentLimit = 10
    /// Unfinished processes shown at most (a huge backlog is summarised by the counts).
    public static let unfinishedLimit = 200

    public var running: Int { processes.filter { $0.status == .running }.count }
    public var pending: Int { processes.filter { $0.status == .pending }.count }

    /// Reads a snapshot. `store` is nil while no runner has created the history store yet.
    public static func read(layout: SpoolLayout, store: HistoryStore?) throws -> WatchSnapshot {
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
        let processes = try store?.read { db in try Self.processes(db) } ?? []
        return WatchSnapshot(inboxWaiting: inbox, runnerPID: pid, runnerState: state, processes: processes)
    }

    static func processes(_ db: Database) throws -> [Process] {
        let columns = "process_id, process_type, status, started_at, ended_at"
        let unfinished = try Row.fetchAll(
            db,
            sql: """
                SELECT \(columns) FROM processes WHERE status IN ('pending', 'running')
                ORDER BY created_at, process_id LIMIT \(unfinishedLimit)
                """)
        let recent = try Row.fetchAll(
            db,
            sql: """
                SELECT \(columns) FROM processes WHERE status NOT IN ('pending', 'running')
                ORDER BY created_at DESC, process_id DESC LIMIT \(recentLimit)
                """)
        var result: [Process] = []
        for row in unfinished + recent {
            let id: String = row["process_id"]
            let tasks = try Row.fetchAll(
                db, sql: "SELECT task_name, status, started_at FROM tasks WHERE process_id = ? ORDER BY position",
                arguments: [id])
            let statuses = tasks.map { TaskStatus(rawValue: $0["status"] as String) }
            let running = tasks.first { ($0["status"] as String) == TaskStatus.running.rawValue }
            result.append(
                Process(
                    processID: id, processType: row["process_type"],
                    status: ProcessStatus(rawValue: row["status"]) ?? .pending,
                    tasksEnded: statuses.filter { $0?.isFinal ?? false }.count, tasksTotal: tasks.count,
                    runningTask: running?["task_name"],
                    runningTaskStartedAt: (running?["started_at"] as String?).flatMap(Timestamp.parse),
                    startedAt: (row["started_at"] as String?).flatMap(Timestamp.parse),
                    endedAt: (row["ended_at"] as String?).flatMap(Timestamp.parse)))
        }
        return result
    }
}
