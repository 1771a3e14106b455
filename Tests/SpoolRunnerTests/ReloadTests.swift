import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reads the definitions again without stopping the runner.
@Suite(.endToEnd) struct ReloadTests {
    @Test func sighupLoadsANewDefinition() async throws {
        let spool = try TemporarySpool()
        try spool.define("first.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        let exit = try await runner.stopping(with: SIGTERM) {
            try spool.drop("before", #"{"process_type": "second"}"#)
            #expect(await spool.eventually { spool.status("before")?.status == .rejected })
            #expect(spool.status("before")?.error?.code == "unknown_process_type")

            try spool.define("second.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
            runner.signal(SIGHUP)
            // The loaded types, not the whole file: runner.json's last_error names 'second' already
            // (the rejection above), and the reload now finishes off the engine, a moment later.
            #expect(
                await spool.eventually {
                    (TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile)?["definitions"] as? [String])?
                        .contains(
                            "second") ?? false
                })
            try spool.drop("after", #"{"process_type": "second"}"#)
            #expect(await spool.eventually { spool.status("after")?.status == .success })
            #expect(kill(runner.pid, 0) == 0, "SIGHUP must not stop the runner")
        }
        #expect(exit.status == 0, "\(exit.standardError)")
    }

    /// A reload that finds a definition broken (a half-saved edit, an alias bomb) keeps that
    /// type on the version loaded before, reports the error, and never stalls the runner.
    @Test func aBrokenReloadKeepsThePreviousVersionAndTheRunnerResponsive() async throws {
        let spool = try TemporarySpool()
        try spool.define("kept.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        let exit = try await runner.stopping(with: SIGTERM) {
            try spool.drop("before", #"{"process_type": "kept"}"#)
            #expect(await spool.eventually { spool.status("before")?.status == .success })

            // Ten levels of ten aliases: before the bound, SIGHUP with this file froze the runner.
            var bomb =
                "inputs:\n  x:\n    type: array\n    default:\n      - &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
            for level in 1..<10 {
                bomb += "      - &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ","))]\n"
            }
            try spool.define("kept.yaml", bomb + "tasks:\n  - name: nap\n    sleep: 1ms\n")
            runner.signal(SIGHUP)
            func definitionErrors() -> [String]? {
                TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile)?["definition_errors"] as? [String]
            }
            #expect(await spool.eventually { definitionErrors()?.first?.contains("YAML aliases") ?? false })
            // Still the old version: requests of the type keep running.
            try spool.drop("after", #"{"process_type": "kept"}"#)
            #expect(await spool.eventually { spool.status("after")?.status == .success })
            #expect(kill(runner.pid, 0) == 0)
            // Fixed: loads again, and nothing is left reported.
            try spool.define("kept.yaml", "tasks:\n  - name: nap2\n    sleep: 1ms\n")
            runner.signal(SIGHUP)
            #expect(await spool.eventually { definitionErrors() == [] })
            try spool.drop("fixed", #"{"process_type": "kept"}"#)
            #expect(await spool.eventually { spool.status("fixed")?.status == .success })
            #expect(spool.status("fixed")?.tasks.map(\.taskName) == ["nap2"])
        }
        #expect(exit.status == 0, "\(exit.standardError)")
    }
}

/// The reload itself runs off the engine within a time bound.
@Suite(.endToEnd) struct DefinitionReloaderTests {
    @Test func aLoadThatOverrunsItsBoundGivesNothing() async throws {
        let directory = NSTemporaryDirectory() + "reloader-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var text = "tasks:\n"
        for index in 0..<1_000 { text += "  - name: t\(index)\n    run: [\"/bin/echo\", \"{{process_id}}\"]\n" }
        for name in ["a", "b", "c", "d"] {
            try text.write(toFile: "\(directory)/\(name).yaml", atomically: true, encoding: .utf8)
        }
        // 4,000 tasks cannot be read in a millisecond: the bound answers first.
        #expect(await DefinitionReloader.load(directory: directory, limit: .milliseconds(1)) == nil)
        let catalog = try #require(await DefinitionReloader.load(directory: directory, limit: .seconds(600)))
        #expect(catalog.definitions.keys.sorted() == ["a", "b", "c", "d"])
        #expect(catalog.errors.isEmpty)
    }
}
