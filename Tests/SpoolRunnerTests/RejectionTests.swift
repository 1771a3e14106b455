import Foundation
import Synchronization
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §3 "Rejections": every code, the file moved unchanged to `rejected/` with its error file
/// beside it, the `rejected` status only for a valid id without a process, the `rejections` rows,
/// and a runner that goes on with the rest of the inbox.
@Suite(.endToEnd) struct RejectionTests {
    static let definition = """
        inputs:
          user_id: {type: string, required: true, pattern: "^user_[0-9]+$"}
          count: {type: integer, min: 1, max: 5, default: 1}
          plan: {type: string, enum: [monthly, yearly], default: monthly}
        tasks:
          - name: hello
            sleep: 1ms
        """
    static let validRequest = #"{"process_type": "greet", "user_id": "user_1"}"#

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var body: String
        var code: String
        /// `--settle`, when the case needs another than the default.
        var settle: Duration?
        /// `--max-request-bytes`, when the case needs another than the default.
        var maxRequestBytes: Int?
        var testDescription: String { "\(code): \(file)" }

        var processID: String { String(file.dropLast(".json".count)) }
        var nameIsValidID: Bool { ProcessID.isValid(processID) }
    }

    static let cases: [Case] = [
        Case(
            file: "broken.json", body: #"{"process_type": "greet", "user_id": "#, code: "invalid_json", settle: .zero),
        Case(
            file: "garbage.json", body: "\u{1}\u{2} not json at all", code: "invalid_json", settle: .zero),
        Case(file: "empty.json", body: "", code: "invalid_json", settle: .zero),
        Case(file: "array.json", body: #"[{"process_type": "greet"}]"#, code: "not_an_object"),
        Case(file: "string.json", body: #""greet""#, code: "not_an_object"),
        Case(file: "null.json", body: "null", code: "not_an_object"),
        Case(
            file: "big.json",
            body: #"{"process_type": "greet", "user_id": "user_1", "pad": ""# + String(repeating: "x", count: 300)
                + #""}"#,
            code: "too_large", maxRequestBytes: 100),
        Case(file: "bad name.json", body: validRequest, code: "invalid_process_id"),
        Case(file: "_leading.json", body: validRequest, code: "invalid_process_id"),
        Case(file: "ünïcode.json", body: validRequest, code: "invalid_process_id"),
        Case(file: String(repeating: "a", count: 129) + ".json", body: validRequest, code: "invalid_process_id"),
        Case(file: "nope.json", body: #"{"process_type": "nope", "user_id": "user_1"}"#, code: "unknown_process_type"),
        Case(file: "untyped.json", body: #"{"user_id": "user_1"}"#, code: "unknown_process_type"),
        Case(file: "numbertype.json", body: #"{"process_type": 5}"#, code: "unknown_process_type"),
        Case(file: "inputs.json", body: #"{"process_type": "greet", "user_id": "admin"}"#, code: "invalid_inputs"),
    ]

    @Test(arguments: cases)
    func requestIsRejected(_ rejection: Case) async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.writeInbox(rejection.file, rejection.body)
        try spool.drop("good", Self.validRequest)
        try await runEngineOnce(spool) { configuration in
            if let settle = rejection.settle { configuration.settle = settle }
            if let bytes = rejection.maxRequestBytes { configuration.maxRequestBytes = bytes }
        }

        // The runner went on: the valid request of the same pass succeeded.
        #expect(spool.status("good")?.status == .success)
        #expect(spool.inboxFiles().isEmpty, "\(spool.inboxFiles())")

        // Moved unchanged, with the reason beside it.
        #expect(spool.rejectedFiles() == [rejection.file, rejection.file + ".error.json"].sorted())
        #expect(spool.rejectedContents(rejection.file) == rejection.body)
        let errorFile = try #require(spool.rejectionErrorFile(rejection.file))
        #expect(Set(errorFile.keys) == ["file", "received_at", "error"])
        #expect(errorFile["file"] as? String == rejection.file)
        _ = try instant(errorFile["received_at"] as? String)
        let error = try #require(errorFile["error"] as? [String: Any])
        #expect(error["code"] as? String == rejection.code)
        let message = try #require(error["message"] as? String)
        #expect(!message.isEmpty)

        // A status file only when the name is a valid id (and no process has it).
        let outbox = try FileManager.default.contentsOfDirectory(atPath: spool.layout.outbox).filter {
            $0 != ".gitkeep"
        }.sorted()
        if rejection.nameIsValidID {
            #expect(outbox == [rejection.file, "good.json"].sorted())
            let status = try #require(spool.status(rejection.processID))
            #expect(status.status == .rejected)
            #expect(status.error?.code == rejection.code)
            #expect(status.error?.message == message)
            #expect(status.tasks.isEmpty)
            #expect(status.startedAt == nil)
            let raw = try #require(spool.statusObject(rejection.processID))
            #expect(raw["status"] as? String == "rejected")
        } else {
            #expect(outbox == ["good.json"])
        }

        // One rejections row, and no process.
        let rows = try spool.rejectionRows()
        #expect(rows.count == 1)
        #expect(rows.first?.file == rejection.file)
        #expect(rows.first?.code == rejection.code)
        #expect(rows.first?.message == message)
        #expect(try spool.processRowCount(rejection.processID) == 0)
        #expect(try spool.integrityCheck() == "ok")
    }

    @Test func invalidInputsMessageNamesEveryOffendingField() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.drop("many", #"{"process_type": "greet", "count": 9, "plan": "weekly", "surprise": true}"#)
        try spool.drop("typed", #"{"process_type": "greet", "user_id": 42, "count": "three"}"#)
        try await runEngineOnce(spool)

        let many = try #require(spool.status("many")?.error)
        #expect(many.code == "invalid_inputs")
        for field in ["user_id", "count", "plan", "surprise"] {
            #expect(many.message.contains(field), "\(field) not named in: \(many.message)")
        }
        #expect(many.message.contains("9") || many.message.contains("5"), "no reason for count in: \(many.message)")
        #expect(
            many.message.contains("weekly") || many.message.contains("monthly"),
            "no reason for plan in: \(many.message)")

        let typed = try #require(spool.status("typed")?.error)
        #expect(typed.code == "invalid_inputs")
        #expect(typed.message.contains("user_id") && typed.message.contains("count"), "\(typed.message)")
        #expect(try spool.rejectionRows().map(\.code) == ["invalid_inputs", "invalid_inputs"])
    }

    // MARK: - Settle

    @Test func unparsableFileYoungerThanSettleIsLeftForLater() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let partial = #"{"process_type": "greet", "us"#
        try spool.writeInbox("slow.json", partial)
        try spool.drop("good", Self.validRequest)
        try await runEngineOnce(spool, limit: .seconds(30)) { $0.settle = .seconds(60) }
        #expect(spool.status("good")?.status == .success)
        // Not judged yet: still in the inbox, nothing rejected, no status.
        #expect(spool.inboxFiles() == ["slow.json"])
        #expect(spool.rejectedFiles().isEmpty)
        #expect(spool.status("slow") == nil)
        #expect(try spool.rejectionRows().isEmpty)

        // Once it has settled, it is rejected.
        try await runEngineOnce(spool, limit: .seconds(30)) { $0.settle = .zero }
        #expect(spool.inboxFiles().isEmpty)
        #expect(spool.rejectedContents("slow.json") == partial)
        #expect(spool.status("slow")?.error?.code == "invalid_json")
    }

    @Test func slowClientFinishingWithinSettleIsAccepted() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.writeInbox("late.json", #"{"process_type": "gr"#)
        try await runEngineOnce(spool) { $0.settle = .seconds(60) }
        #expect(spool.inboxFiles() == ["late.json"])
        // The client finishes its write; the next pass takes the request.
        try spool.writeInbox("late.json", Self.validRequest)
        try await runEngineOnce(spool) { $0.settle = .seconds(60) }
        #expect(spool.status("late")?.status == .success)
        #expect(spool.rejectedFiles().isEmpty)
    }

    /// More unsettled files than one intake batch (256) must not hide the requests after them,
    /// nor keep `serve --once` from ending.
    @Test func manyUnsettledFilesDoNotStarveTheInbox() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        for index in 0..<300 { try spool.writeInbox(String(format: "a%03d.json", index), #"{"process_type": "gre"#) }
        try spool.drop("zz_valid", Self.validRequest)
        let began = Date()
        // A pass that does not end by itself within 15 s fails here (EngineDidNotStop).
        try await runEngineOnce(spool, limit: .seconds(15)) { $0.settle = .seconds(60) }
        #expect(Date().timeIntervalSince(began) < 15)
        #expect(
            spool.status("zz_valid")?.status == .success, "the valid request after 300 unsettled files was never taken")
        #expect(spool.inboxFiles().count == 300)
        #expect(spool.rejectedFiles().isEmpty)
    }

    // MARK: - Not a regular file

    @Test func symlinkIsRejectedNotFollowed() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let target = spool.root.appendingPathComponent("real-request.json").path
        try Self.validRequest.write(toFile: target, atomically: true, encoding: .utf8)
        #expect(symlink(target, "\(spool.layout.inbox)/link.json") == 0)
        try spool.drop("good", Self.validRequest)
        try await runEngineOnce(spool)

        #expect(spool.status("good")?.status == .success)
        #expect(spool.inboxFiles().isEmpty)
        // The link itself was moved, still pointing at the untouched target.
        let moved = "\(spool.layout.rejected)/link.json"
        #expect(TemporarySpool.fileType(moved) == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: moved) == target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == Self.validRequest)
        #expect(spool.rejectionErrorFile("link.json")?["file"] as? String == "link.json")
        #expect(
            (spool.rejectionErrorFile("link.json")?["error"] as? [String: Any])?["code"] as? String
                == "not_a_regular_file")
        #expect(spool.status("link")?.status == .rejected)
        #expect(spool.status("link")?.error?.code == "not_a_regular_file")
        #expect(try spool.processRowCount("link") == 0)
        #expect(try spool.rejectionRows().map(\.code) == ["not_a_regular_file"])
    }

    /// A writer blocked in open(2) on a FIFO until some reader opens it.
    final class FIFOWriter: Sendable {
        let opened = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
        /// The writer thread's kernel id (0 until it runs), to find it in /proc/self/task.
        let threadID = Atomic<Int>(0)

        init(path: String) {
            let thread = Thread { [self] in
                // /proc/thread-self is this thread's /proc/<pid>/task/<tid>.
                let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
                threadID.store(Int(link.split(separator: "/").last ?? "") ?? -1, ordering: .sequentiallyConsistent)
                let fd = open(path, O_WRONLY)
                if fd >= 0 {
                    opened.store(true, ordering: .sequentiallyConsistent)
                    close(fd)
                }
                finished.store(true, ordering: .sequentiallyConsistent)
            }
            thread.start()
        }

        /// Waits until the writer sits in its open(2) of the FIFO (the kernel's view of the thread:
        /// the system call it is blocked in), so that any reader from now on would let it
        /// through: without this, a runner that opened the FIFO before the writer got there would
        /// go unnoticed.
        func waitUntilBlocked() async -> Bool {
            #if arch(x86_64)
            let openat = "257"
            #else
            let openat = "56"  // arm64's generic syscall table
            #endif
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let task = threadID.load(ordering: .sequentiallyConsistent)
                if task > 0 {
                    let call = (try? String(contentsOfFile: "/proc/self/task/\(task)/syscall", encoding: .utf8)) ?? ""
                    if call.split(separator: " ").first.map(String.init) == openat { return true }
                }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return false
        }

        /// Opens the read side (without blocking) so that the writer's open returns.
        func release(at path: String) async {
            let deadline = Date().addingTimeInterval(10)
            while !finished.load(ordering: .sequentiallyConsistent), Date() < deadline {
                let fd = open(path, O_RDONLY | O_NONBLOCK)
                try? await Task.sleep(for: .milliseconds(20))
                if fd >= 0 { close(fd) }
            }
        }
    }

    @Test func fifoIsRejectedWithoutBeingOpened() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let path = "\(spool.layout.inbox)/pipe.json"
        #expect(mkfifo(path, 0o644) == 0)
        // Anyone opening the FIFO for reading would let this writer through.
        let writer = FIFOWriter(path: path)
        #expect(await writer.waitUntilBlocked(), "the writer never reached its open(2) of the FIFO")
        try spool.drop("good", Self.validRequest)
        let pass: Result<Void, any Error>
        do {
            try await runEngineOnce(spool, limit: .seconds(30))
            pass = .success(())
        } catch {
            pass = .failure(error)
        }
        let openedByRunner = writer.opened.load(ordering: .sequentiallyConsistent)
        let moved = "\(spool.layout.rejected)/pipe.json"
        await writer.release(at: TemporarySpool.fileType(moved) == nil ? path : moved)

        try pass.get()
        #expect(!openedByRunner, "the runner opened the FIFO")
        #expect(spool.status("good")?.status == .success)
        #expect(spool.inboxFiles().isEmpty)
        #expect(TemporarySpool.fileType(moved) == S_IFIFO)
        #expect(
            (spool.rejectionErrorFile("pipe.json")?["error"] as? [String: Any])?["code"] as? String
                == "not_a_regular_file")
        #expect(spool.status("pipe")?.status == .rejected)
        #expect(try spool.rejectionRows().map(\.code) == ["not_a_regular_file"])
    }

    @Test func directoryIsRejected() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let directory = "\(spool.layout.inbox)/folder.json"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try "inside".write(toFile: directory + "/note.txt", atomically: true, encoding: .utf8)
        try spool.drop("good", Self.validRequest)
        try await runEngineOnce(spool, limit: .seconds(30))
        #expect(spool.status("good")?.status == .success)
        #expect(spool.inboxFiles().isEmpty)
        let moved = "\(spool.layout.rejected)/folder.json"
        #expect(TemporarySpool.fileType(moved) == S_IFDIR)
        #expect(try String(contentsOfFile: moved + "/note.txt", encoding: .utf8) == "inside")
        #expect(spool.status("folder")?.error?.code == "not_a_regular_file")
        #expect(try spool.rejectionRows().map(\.file) == ["folder.json"])
    }

    // MARK: - Names left alone, names taken

    @Test func dotFilesAndOtherNamesAreLeftAlone() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        let ignored = [".hidden.json", ".partial", "notes.txt", "request.json.tmp", "README", "p2.JSON"]
        for name in ignored { try spool.writeInbox(name, "not json {{{") }
        try spool.drop("good", Self.validRequest)
        try await runEngineOnce(spool) { $0.settle = .zero }
        #expect(spool.status("good")?.status == .success)
        #expect(spool.inboxFiles() == ignored.sorted())
        for name in ignored {
            #expect(try String(contentsOfFile: "\(spool.layout.inbox)/\(name)", encoding: .utf8) == "not json {{{")
        }
        #expect(spool.rejectedFiles().isEmpty)
        #expect(try spool.rejectionRows().isEmpty)
    }

    @Test func aTakenRejectedNameGetsASuffix() async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.writeInbox("again.json", "[1]")
        try await runEngineOnce(spool)
        try spool.writeInbox("again.json", "[2]")
        try await runEngineOnce(spool)
        let files = spool.rejectedFiles()
        #expect(files.count == 4, "\(files)")
        #expect(spool.rejectedContents("again.json") == "[1]")
        let second = try #require(
            files.first { $0.hasPrefix("again.json") && $0 != "again.json" && !$0.hasSuffix(".error.json") })
        #expect(spool.rejectedContents(second) == "[2]")
        #expect(spool.rejectionErrorFile(second)?["file"] as? String == "again.json")
        #expect(try spool.rejectionRows().count == 2)
    }

    // MARK: - An id that already has a process

    /// A request that cannot even be read, under the id of an existing process, is rejected; the
    /// existing process and its status file stay as they were (SPEC §3: the rejected status is
    /// written only "if ... no process with that id exists").
    @Test(arguments: ["too_large", "symlink", "directory", "invalid_json"])
    func rejectionUnderAnExistingIDLeavesItsStatusAlone(kind: String) async throws {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.drop("taken", Self.validRequest)
        try await runEngineOnce(spool)
        let before = try #require(spool.statusBytes("taken"))
        #expect(spool.status("taken")?.status == .success)

        let path = "\(spool.layout.inbox)/taken.json"
        var configure: (inout EngineConfiguration) -> Void = { _ in }
        switch kind {
        case "too_large":
            try spool.writeInbox(
                "taken.json",
                #"{"process_type": "greet", "user_id": "user_1", "pad": ""# + String(repeating: "x", count: 300)
                    + #""}"#)
            configure = { $0.maxRequestBytes = 100 }
        case "symlink":
            let target = spool.root.appendingPathComponent("elsewhere.json").path
            try Self.validRequest.write(toFile: target, atomically: true, encoding: .utf8)
            #expect(symlink(target, path) == 0)
        case "directory":
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        default:
            try spool.writeInbox("taken.json", "{not json")
            configure = { $0.settle = .zero }
        }
        try await runEngineOnce(spool, configure: configure)
        #expect(spool.inboxFiles().isEmpty)
        #expect(spool.rejectedFiles().contains("taken.json"))
        #expect(try spool.rejectionRows().count == 1)
        #expect(spool.status("taken")?.status == .success, "the existing process's status file was replaced")
        #expect(spool.statusBytes("taken") == before)
        #expect(try spool.processRowCount("taken") == 1)
    }

    /// A spool whose runner was killed (SPOOLRUNNER_CRASH_AT=rejected) after it moved the invalid
    /// request `bad1` to `rejected/` and before it committed its row; and that run.
    static func crashInTheRejectionWindow() async throws -> (TemporarySpool, CommandResult) {
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", Self.definition)
        try spool.drop("bad1", #"{"process_type": "nope"}"#)
        let crashed = try await spool.run(
            ["serve", "--once", "--settle", "0s"], environment: ["SPOOLRUNNER_CRASH_AT": "rejected"])
        #expect(crashed.status != 0)
        return (spool, crashed)
    }

    /// A runner killed after a rejected file was moved to `rejected/` and before its row was
    /// committed (SPOOLRUNNER_CRASH_AT=rejected): the next start records the row from the reason
    /// file, once; a clean restart after that adds nothing.
    @Test func aRejectionCutOffByACrashIsRecordedByTheNextStart() async throws {
        let (spool, crashed) = try await Self.crashInTheRejectionWindow()
        #expect(crashed.standardError.contains("SPOOLRUNNER_CRASH_AT=rejected"), "\(crashed.standardError)")
        #expect(spool.rejectedFiles() == ["bad1.json", "bad1.json.error.json"])
        #expect(try spool.rejectionRows().isEmpty)
        // Its client has its answer all the same: the status file is written before the move.
        #expect(spool.status("bad1")?.status == .rejected)
        #expect(spool.status("bad1")?.error?.code == "unknown_process_type")
        try spool.drop("good1", Self.validRequest)
        let recovered = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(recovered.status == 0, "\(recovered.standardError)")
        #expect(recovered.standardError.contains("recording 1 rejection(s)"), "\(recovered.standardError)")
        let rows = try spool.rejectionRows()
        #expect(rows.map(\.file) == ["bad1.json"])
        #expect(rows.first?.code == "unknown_process_type")
        let reason = try #require(spool.rejectionErrorFile("bad1.json"))
        #expect((reason["error"] as? [String: Any])?["message"] as? String == rows.first?.message)
        #expect(spool.status("good1")?.status == .success)
        #expect(spool.status("bad1")?.status == .rejected)
        // Stopped cleanly: nothing to recover, no second row.
        let again = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(again.status == 0)
        #expect(try spool.rejectionRows().map(\.file) == ["bad1.json"])
    }

    /// The same, when the start after the crash is itself killed after it found the row and
    /// before it committed it: the start after that looks back to the first crashed session.
    @Test func aRejectionCutOffByACrashSurvivesASecondCrashBeforeItIsRecorded() async throws {
        let (spool, _) = try await Self.crashInTheRejectionWindow()
        #expect(try spool.rejectionRows().isEmpty)
        // Past the 1 s of slack recovery allows for coarse file times: the next sessions start
        // later than the reason file was written, as they would after a real crash.
        try await Task.sleep(for: .seconds(1.5))
        // The 4th durable step of the next start: its session is recorded, the row found, and
        // the commit that would record it is where it dies.
        let second = try await spool.run(
            ["serve", "--once", "--settle", "0s"], environment: ["SPOOLRUNNER_CRASH_AT": "4"])
        #expect(second.status != 0)
        #expect(second.standardError.contains("recording 1 rejection(s)"), "\(second.standardError)")
        #expect(second.standardError.contains("SPOOLRUNNER_CRASH_AT=4"), "\(second.standardError)")
        #expect(try spool.rejectionRows().isEmpty)
        let third = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(third.status == 0, "\(third.standardError)")
        #expect(third.standardError.contains("recording 1 rejection(s)"), "\(third.standardError)")
        #expect(try spool.rejectionRows().map(\.file) == ["bad1.json"])
        #expect(spool.status("bad1")?.status == .rejected)
    }
}
