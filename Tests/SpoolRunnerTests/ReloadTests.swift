import Foundation
import Testing
@testable import SpoolRunner
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reads the definitions again without stopping the runner.
@Suite struct ReloadTests {
    @Test func sighupLoadsANewDefinition() throws {
        let spool = try TemporarySpool()
        try spool.define("first.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        defer {
            runner.signal(SIGTERM)
            #expect(runner.wait().status == 0)
        }
        try spool.drop("before", #"{"process_type": "second"}"#)
        #expect(spool.eventually { spool.status("before")?.status == .rejected })
        #expect(spool.status("before")?.error?.code == "unknown_process_type")

        try spool.define("second.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        runner.signal(SIGHUP)
        #expect(spool.eventually {
            (try? String(contentsOfFile: spool.layout.heartbeatFile, encoding: .utf8))?.contains("second") ?? false
        })
        try spool.drop("after", #"{"process_type": "second"}"#)
        #expect(spool.eventually { spool.status("after")?.status == .success })
        #expect(kill(runner.pid, 0) == 0, "SIGHUP must not stop the runner")
    }
}
