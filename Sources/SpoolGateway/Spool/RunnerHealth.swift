import Foundation
import ProcessDefinitions
import SpoolClient

/// Whether a runner is alive on the spool, judged from `runner.json` (SPEC §2): it is rewritten
/// every few seconds while the runner runs, and says `stopped` after a clean exit.
struct RunnerHealth: Sendable {
    var healthy: Bool
    /// Why it is not healthy, for `/healthz` and the dashboard.
    var reason: String?
    /// The heartbeat document as the runner wrote it, when it could be read.
    var heartbeat: [String: JSONValue]?

    static func check(_ layout: SpoolLayout, staleAfter: Double, now: Date = Date()) -> RunnerHealth {
        let path = layout.heartbeatFile
        let data: Data
        switch SafeFileReader.read(path, limit: 1024 * 1024) {
        case .contents(let contents, _): data = contents
        case .missing:
            return RunnerHealth(healthy: false, reason: "\(path) does not exist: no runner has started on this spool")
        case .notARegularFile(let kind):
            return RunnerHealth(healthy: false, reason: "\(path) is a \(kind), not the runner's heartbeat")
        case .tooLarge(let size):
            return RunnerHealth(healthy: false, reason: "\(path) is \(size) bytes, not a heartbeat")
        case .unreadable(let why): return RunnerHealth(healthy: false, reason: "\(path) cannot be read: \(why)")
        }
        guard case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return RunnerHealth(healthy: false, reason: "\(path) is not a JSON object")
        }
        let pid = document["pid"]?.templateText ?? "?"
        if case .string(let state)? = document["state"], state != "running" {
            return RunnerHealth(healthy: false, reason: "the runner (pid \(pid)) is \(state)", heartbeat: document)
        }
        guard case .string(let updated)? = document["updated_at"], let date = Timestamp.parse(updated) else {
            return RunnerHealth(healthy: false, reason: "\(path) has no valid updated_at", heartbeat: document)
        }
        let age = now.timeIntervalSince(date)
        if age > staleAfter {
            return RunnerHealth(
                healthy: false,
                reason:
                    "runner.json was last updated \(Int(age)) s ago (pid \(pid)): the runner is not running or is stuck",
                heartbeat: document)
        }
        return RunnerHealth(healthy: true, reason: nil, heartbeat: document)
    }
}
