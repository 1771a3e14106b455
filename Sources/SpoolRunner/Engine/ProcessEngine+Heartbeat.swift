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
            "version": .string(Version.current),
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
        ])
        try? AtomicFile.write(Data((document.compactJSON + "\n").utf8), to: layout.heartbeatFile)
    }
}
