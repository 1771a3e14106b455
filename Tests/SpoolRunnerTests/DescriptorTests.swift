import Foundation
import Testing

@testable import SpoolRunner

/// A task inherits standard input, output and error, and nothing else of the runner: no
/// SQLite connection, no lock file, no inotify descriptor, no other task's pipe.
@Suite(.endToEnd) struct DescriptorTests {
    @Test func tasksInheritOnlyTheStandardDescriptors() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "fds.yaml",
            """
            tasks:
              - name: list
                shell: 'for fd in /proc/$$/fd/*; do printf "%s -> %s\\n" "${fd##*/}" "$(readlink "$fd")"; done'
            """)
        try spool.drop("f1", #"{"process_type": "fds"}"#)
        let result = try await spool.run(["serve", "--once"])
        #expect(result.status == 0)
        #expect(spool.status("f1")?.status == .success)
        let log = try String(contentsOfFile: spool.layout.logFile("f1", task: "list", attempt: 1), encoding: .utf8)
        let descriptors = log.split(separator: "\n").compactMap { $0.split(separator: " ").first.flatMap { Int($0) } }
        // 0, 1, 2, plus the one the shell's glob loop itself may hold open.
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "\(log)")
        #expect(!log.contains("history.sqlite"), "\(log)")
        #expect(!log.contains("runner.lock"), "\(log)")
        #expect(!log.contains("inotify"), "\(log)")
    }

    @Test func theWriteAheadLogStaysBounded() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 0ms\n")
        for index in 0..<400 { try spool.drop("w\(index)", #"{"process_type": "nap"}"#) }
        // Measured while the runner still has the store open: at a clean close SQLite
        // checkpoints and deletes the WAL, and an absent file would prove nothing.
        let runner = try spool.start(["serve"])
        try await runner.stopping(with: SIGKILL) {
            #expect(
                await spool.eventually(timeout: 120) {
                    (0..<400).allSatisfy { spool.status("w\($0)")?.status == .success }
                })
            let attributes = try FileManager.default.attributesOfItem(atPath: spool.layout.defaultDatabase + "-wal")
            let size = try #require(attributes[.size] as? Int)
            #expect(size > 0, "the runner's writes go through the WAL")
            // SQLite checkpoints at 1000 pages (4 MiB) by default; the runner adds its own passive
            // checkpoints, so the WAL never grows far past that.
            #expect(size < 8 << 20, "WAL is \(size) bytes")
        }
    }
}
