import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Definitions reload when their files change (inotify on the definitions directory, or polling
/// with --no-inotify), without SIGHUP: a valid change is used by new requests, an invalid one
/// keeps the previous version (error in runner.json), a removed file removes its type, and a
/// process running across all of it keeps the definition it started with.
@Suite(.endToEnd) struct DefinitionReloadTests {
    static func reloads(_ runner: RunningCommand) -> Int {
        let text = (try? String(contentsOfFile: runner.errorPath, encoding: .utf8)) ?? ""
        return text.components(separatedBy: "definitions reloaded").count - 1
    }

    static func taskNames(_ spool: TemporarySpool, _ id: String) -> [String]? {
        spool.status(id)?.tasks.map(\.taskName)
    }

    @Test(arguments: [[], ["--no-inotify", "--rescan", "200ms"]])
    func fileChangesReloadWithoutSIGHUP(_ options: [String]) async throws {
        let spool = try TemporarySpool()
        try spool.define("job.yaml", "tasks:\n  - name: first\n    sleep: 4s\n")
        let runner = try spool.start(["serve", "--grace", "1s"] + options)
        try await runner.stopping(with: SIGKILL) {
            try spool.drop("p1", #"{"process_type": "job"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("p1")?.status == .running })

            // A valid change: new requests get it.
            var seen = Self.reloads(runner)
            try spool.define("job.yaml", "tasks:\n  - name: second\n    sleep: 1ms\n")
            #expect(await spool.eventually(timeout: 20) { Self.reloads(runner) > seen }, "no reload after a change")
            try spool.drop("p2", #"{"process_type": "job"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("p2")?.status == .success })
            #expect(Self.taskNames(spool, "p2") == ["second"])

            // An invalid change: the previous version stays, the error is in runner.json.
            seen = Self.reloads(runner)
            try spool.define("job.yaml", "tasks: [\n")
            #expect(
                await spool.eventually(timeout: 20) {
                    let heartbeat = TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile)
                    let errors = heartbeat?["definition_errors"] as? [String] ?? []
                    return Self.reloads(runner) > seen && errors.contains { $0.contains("job.yaml") }
                })
            let heartbeat = TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile)
            #expect((heartbeat?["last_error"] as? [String: String])?["message"]?.contains("job.yaml") == true)
            #expect(heartbeat?["definitions"] as? [String] == ["job"])
            try spool.drop("p3", #"{"process_type": "job"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("p3")?.status == .success })
            #expect(Self.taskNames(spool, "p3") == ["second"])

            // Removed: the type is gone.
            seen = Self.reloads(runner)
            try FileManager.default.removeItem(at: spool.definitions.appendingPathComponent("job.yaml"))
            #expect(await spool.eventually(timeout: 20) { Self.reloads(runner) > seen })
            try spool.drop("p4", #"{"process_type": "job"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("p4")?.status == .rejected })
            #expect(spool.status("p4")?.error?.code == "unknown_process_type")

            // The process that ran across all of it kept its definition.
            #expect(await spool.eventually(timeout: 20) { spool.status("p1")?.status == .success })
            #expect(Self.taskNames(spool, "p1") == ["first"])
        }
    }
}
