import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Anyone who may write into the spool may plant symlinks there: the runner's own writes
/// (`outbox/`, `rejected/`, `work/<id>`, `logs/<id>`, `logs/`) never follow one, a spool open to
/// everyone is refused, and what the runner creates gets explicit modes.
@Suite(.endToEnd) struct SpoolTamperingTests {
    static let definition = """
        tasks:
          - name: hello
            shell: 'touch created-here; echo "task output"'
        """

    /// A directory outside the spool holding a file the attacker wants overwritten.
    static func victim(_ spool: TemporarySpool) throws -> String {
        let victim = spool.root.appendingPathComponent("victim").path
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try "precious\n".write(toFile: "\(victim)/hello.1.log", atomically: true, encoding: .utf8)
        return victim
    }

    static func untouched(_ victim: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: victim)) ?? []
        return names == ["hello.1.log"]
            && (try? String(contentsOfFile: "\(victim)/hello.1.log", encoding: .utf8)) == "precious\n"
    }

    @Test func linksPlantedAtPerProcessDirectoriesAreReplacedNotFollowed() async throws {
        let spool = try TemporarySpool()
        let victim = try Self.victim(spool)
        try spool.define("hello.yaml", Self.definition)
        #expect(symlink(victim, spool.layout.logDirectory("p1")) == 0)
        #expect(symlink(victim, spool.layout.workDirectory("p1")) == 0)
        try spool.drop("p1", #"{"process_type": "hello"}"#)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("p1")?.status == .success)
        #expect(
            Self.untouched(victim),
            "the victim directory changed: \((try? FileManager.default.contentsOfDirectory(atPath: victim)) ?? [])")
        // The links were replaced by real directories that got the task's files.
        #expect(TemporarySpool.fileType(spool.layout.logDirectory("p1")) == S_IFDIR)
        #expect(TemporarySpool.fileType(spool.layout.workDirectory("p1")) == S_IFDIR)
        #expect(spool.logText("p1", task: "hello", attempt: 1)?.contains("task output") == true)
        #expect(spool.workFile("p1", "created-here") == "")
    }

    @Test func aSymlinkInPlaceOfASpoolDirectoryStopsTheStartWithOneLine() async throws {
        let spool = try TemporarySpool()
        let victim = try Self.victim(spool)
        try spool.define("hello.yaml", Self.definition)
        try FileManager.default.removeItem(atPath: spool.layout.logs)
        #expect(symlink(victim, spool.layout.logs) == 0)
        try spool.drop("p1", #"{"process_type": "hello"}"#)
        let result = try await spool.serveOnce()
        #expect(result.status == 77, "\(result.standardError)")
        let lines = result.standardError.split(separator: "\n").filter { $0.hasPrefix("spoolrunner:") }
        #expect(lines.count == 1, "\(result.standardError)")
        #expect(
            lines.first?.contains("\(spool.layout.logs): is a symlink (to \(victim))") == true,
            "\(result.standardError)")
        #expect(Self.untouched(victim))
        #expect(spool.inboxFiles() == ["p1.json"])
    }

    @Test func linksPlantedWhileRunningAreRefusedAndTheirTargetUntouched() async throws {
        let spool = try TemporarySpool()
        let victim = try Self.victim(spool)
        try spool.define("hello.yaml", Self.definition)
        let runner = try spool.start(["serve", "--rescan", "100ms", "--settle", "0s"])
        let result = try await runner.stopping(with: SIGTERM) {
            try spool.drop("first", #"{"process_type": "hello"}"#)
            #expect(await spool.eventually { spool.status("first")?.status == .success })
            // rejected/ and outbox/ swapped for links into the victim directory.
            try FileManager.default.removeItem(atPath: spool.layout.rejected)
            #expect(symlink(victim, spool.layout.rejected) == 0)
            try FileManager.default.moveItem(
                atPath: spool.layout.outbox, toPath: spool.root.appendingPathComponent("old-outbox").path)
            #expect(symlink(victim, spool.layout.outbox) == 0)
            try spool.drop("bad", "[1]")
            try spool.drop("second", #"{"process_type": "hello"}"#)
            #expect(
                await spool.eventually {
                    ((try? spool.rejectionRows().count) ?? 0) == 1 && ((try? spool.processRowCount("second")) ?? 0) == 1
                })
            try await Task.sleep(for: .milliseconds(1500))
            #expect(
                Self.untouched(victim),
                "the victim directory changed: \((try? FileManager.default.contentsOfDirectory(atPath: victim)) ?? [])")
            // Judged once, left where it was (nothing deleted), not rejected again every scan.
            #expect(try spool.rejectionRows().map(\.code) == ["not_an_object"])
            #expect(spool.inboxFiles() == ["bad.json"])
            #expect(kill(runner.pid, 0) == 0)
            // outbox/ put right before the stop: the stop then writes what is pending at once,
            // instead of retrying into the link for the publisher's 10 s before it gives up.
            unlink(spool.layout.outbox)
            try FileManager.default.moveItem(
                atPath: spool.root.appendingPathComponent("old-outbox").path, toPath: spool.layout.outbox)
        }
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        #expect(Self.untouched(victim), "the victim directory changed during the stop")
        #expect(spool.status("second")?.status == .success)
    }

    /// inbox/ swapped for a link to a directory of someone else's files: none of them is read as
    /// a request, rejected, moved or deleted; the runner goes on once inbox/ is a directory again.
    @Test func anInboxSwappedForALinkIsNotScanned() async throws {
        let spool = try TemporarySpool()
        try spool.define("hello.yaml", Self.definition)
        let elsewhere = spool.root.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try #"{"process_type": "hello"}"#.write(toFile: "\(elsewhere)/theirs.json", atomically: true, encoding: .utf8)
        try "[1]".write(toFile: "\(elsewhere)/broken.json", atomically: true, encoding: .utf8)
        let runner = try spool.start(["serve", "--rescan", "100ms", "--settle", "0s"])
        try await runner.stopping(with: SIGTERM) {
            #expect(await spool.eventually { FileManager.default.fileExists(atPath: spool.layout.heartbeatFile) })
            try FileManager.default.moveItem(
                atPath: spool.layout.inbox, toPath: spool.root.appendingPathComponent("old-inbox").path)
            #expect(symlink(elsewhere, spool.layout.inbox) == 0)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: elsewhere).sorted() == [
                    "broken.json", "theirs.json",
                ])
            #expect(try spool.rejectionRows().isEmpty)
            #expect(try spool.processRowCount("theirs") == 0)
            // Put right: taken again.
            unlink(spool.layout.inbox)
            try FileManager.default.moveItem(
                atPath: spool.root.appendingPathComponent("old-inbox").path, toPath: spool.layout.inbox)
            try spool.drop("mine", #"{"process_type": "hello"}"#)
            #expect(await spool.eventually { spool.status("mine")?.status == .success })
            #expect(kill(runner.pid, 0) == 0)
        }
    }

    @Test func aDeletedRejectedDirectoryIsMadeAgainAndAFileRejectedOnce() async throws {
        let spool = try TemporarySpool()
        try spool.define("hello.yaml", Self.definition)
        let runner = try spool.start(["serve", "--rescan", "100ms", "--settle", "0s"])
        try await runner.stopping(with: SIGTERM) {
            #expect(await spool.eventually { FileManager.default.fileExists(atPath: spool.layout.heartbeatFile) })
            try FileManager.default.removeItem(atPath: spool.layout.rejected)
            try spool.drop("bad", "[1]")
            #expect(await spool.eventually { spool.rejectedFiles() == ["bad.json", "bad.json.error.json"] })
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try spool.rejectionRows().count == 1)
            #expect(spool.inboxFiles().isEmpty)
        }
    }

    @Test func aSpoolWritableByEveryoneWithoutTheStickyBitIsRefused() async throws {
        let spool = try TemporarySpool()
        try spool.define("hello.yaml", Self.definition)
        chmod(spool.layout.inbox, 0o777)
        let refused = try await spool.serveOnce()
        #expect(refused.status == 77)
        #expect(
            refused.standardError.contains(
                "\(spool.layout.inbox): is writable by everyone (mode 777) without the sticky bit"),
            "\(refused.standardError)")
        chmod(spool.layout.inbox, 0o1777)
        let accepted = try await spool.serveOnce()
        #expect(accepted.status == 0, "\(accepted.standardError)")
    }

    @Test func whatTheRunnerCreatesHasExplicitModesWhateverTheUmask() async throws {
        let spool = try TemporarySpool()
        try spool.define("hello.yaml", Self.definition)
        for directory in spool.layout.directories { try FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: spool.layout.inbox, withIntermediateDirectories: true)
        try spool.writeInbox("p1.json", #"{"process_type": "hello"}"#)
        try spool.writeInbox("bad.json", "[1]")
        let command =
            "umask 077; exec '\(TemporarySpool.binary)' serve --once --settle 0s --spool '\(spool.layout.root)' --definitions '\(spool.definitions.path)'"
        let result = try await RunningCommand(
            executable: "/bin/sh", arguments: ["-c", command], environment: [:], directory: spool.root.path
        ).wait()
        #expect(result.status == 0, "\(result.standardError)")
        func mode(_ path: String) -> String {
            var info = stat()
            return lstat(path, &info) == 0 ? String(info.st_mode & 0o7777, radix: 8) : "missing"
        }
        #expect(mode(spool.layout.outbox) == "755")
        #expect(mode(spool.layout.rejected) == "755")
        #expect(mode(spool.layout.tmp) == "775")
        #expect(mode(spool.layout.control) == "775")
        #expect(mode(spool.layout.workDirectory("p1")) == "755")
        #expect(mode(spool.layout.logDirectory("p1")) == "755")
        #expect(mode(spool.layout.statusFile("p1")) == "644")
        #expect(mode(spool.layout.logFile("p1", task: "hello", attempt: 1)) == "644")
        #expect(mode("\(spool.layout.rejected)/bad.json.error.json") == "644")
    }
}
