import Foundation
import ProcessDefinitions
#if canImport(Glibc)
import Glibc
#endif

extension ProcessEngine {
    /// Rewrites `runner.json`: what a monitoring script or a human checks first.
    func writeHeartbeat(stopped: Bool = false) {
        let inbox = (try? FileManager.default.contentsOfDirectory(atPath: layout.inbox))?
            .filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.count ?? 0
        let runningProcesses = processes.values.filter { $0.record.status == .running }.count
        let document: JSONValue = .object([
            "pid": .integer(Int64(getpid())),
            "version": .string(SpoolRunnerInfo.version),
            "started_at": .string(Timestamp.string(startedAt)),
            "updated_at": .string(Timestamp.now()),
            "state": .string(stopped ? "stopped" : stopping ? "stopping" : "running"),
            "counts": .object([
                "inbox_backlog": .integer(Int64(inbox)),
                "pending_processes": .integer(Int64(processes.count - runningProcesses)),
                "running_processes": .integer(Int64(runningProcesses)),
                "running_tasks": .integer(Int64(running.count)),
            ]),
            "definitions": .array(catalog.definitions.keys.sorted().map(JSONValue.string)),
            "definition_errors": .array(catalog.errors.map { .string($0.description) }),
            // What the runner is waiting out now (oldest first in `paused`), and the last one
            // that ended, so a monitor sees a pause that came and went between two looks.
            "paused": pause.active.first.map(Self.json) ?? .null,
            "pause_conditions": .array(pause.active.map(Self.json)),
            "last_error": (pause.active.last ?? pause.last).map(Self.json) ?? .null,
        ])
        do {
            // A success does not clear a `spool_files` pause: the probe does, with backoff, so
            // that a write that fails again cannot make it come and go in a loop.
            try AtomicFile.write(Data((document.compactJSON + "\n").utf8), to: layout.heartbeatFile)
        } catch {
            if error.systemErrno == ENOENT { layout.restoreMissingDirectories() }
            if let code = error.systemErrno, let reason = PauseReason(errno: code) {
                pause.raise(.spoolFiles, reason, path: error.path, message: "cannot write \(error.description)")
            }
        }
    }

    static func json(_ condition: PauseCondition) -> JSONValue {
        .object(condition.json.mapValues(JSONValue.string))
    }
}
