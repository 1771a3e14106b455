import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Issue 7's bad-input corpus (`Tests/Corpus/bad-requests.json`): every case dropped into one
/// running runner. Its pid never changes, each file gets exactly one rejection with its code and
/// is moved to `rejected/` unchanged (nothing deleted, nothing outside the spool touched), and
/// the valid requests dropped in between, and a slow writer, all succeed.
@Suite(.serialized, .endToEnd) struct BadInputCorpusTests {
    struct Case {
        var name: String
        var code: String
        var kind: String
        var bytes: Data?
    }

    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus")

    static func loadCases() throws -> (definition: String, cases: [Case]) {
        let data = try Data(contentsOf: corpusDirectory.appendingPathComponent("bad-requests.json"))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let definition = try String(
            contentsOf: corpusDirectory.appendingPathComponent(try #require(document["definition"] as? String)),
            encoding: .utf8)
        var cases: [Case] = []
        for entry in try #require(document["cases"] as? [[String: Any]]) {
            var item = Case(
                name: try #require(entry["name"] as? String), code: try #require(entry["code"] as? String),
                kind: entry["kind"] as? String ?? "regular")
            if let body = entry["body"] as? String { item.bytes = Data(body.utf8) }
            if let hex = entry["hex"] as? String { item.bytes = Data(hexString: hex) }
            if let generate = entry["generate"] as? [String: Any] {
                let count = try #require(generate["count"] as? Int)
                var text = generate["prefix"] as? String ?? ""
                if let open = generate["repeat_open"] as? String, let close = generate["repeat_close"] as? String {
                    text += String(repeating: open, count: count) + String(repeating: close, count: count)
                } else {
                    text += String(repeating: try #require(generate["repeat"] as? String), count: count)
                }
                item.bytes = Data((text + (generate["suffix"] as? String ?? "")).utf8)
            }
            cases.append(item)
        }
        return (definition, cases)
    }

    @Test func theCorpusHasAtLeastFortyCasesOfEveryCode() throws {
        let cases = try Self.loadCases().cases
        #expect(cases.count >= 40)
        #expect(Set(cases.map(\.name)).count == cases.count, "case names must be unique")
        let codes = Set(cases.map(\.code))
        for code in RequestRejection.Code.allCases
        where ![.duplicateProcessID, .unknownAction, .unknownProcess].contains(code) {
            #expect(codes.contains(code.rawValue), "no corpus case for \(code.rawValue)")
        }
    }

    @Test(.waitsOnTimers) func everyBadInputIsRejectedOnceByOneRunningRunner() async throws {
        let (definition, cases) = try Self.loadCases()
        let spool = try TemporarySpool()
        try spool.define("greet.yaml", definition)
        let outside = spool.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let secret = outside.appendingPathComponent("secret.txt").path
        try "not a request\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let fifo = outside.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)

        // As root, the runner runs as nobody: root reads any file, and the unreadable case must
        // be unreadable to the runner for real.
        let asRoot = getuid() == 0
        if asRoot {
            for path in [spool.root.path, spool.layout.root] { chown(path, 65534, 65534) }
            for directory in spool.layout.directories { chown(directory, 65534, 65534) }
            chmod(spool.root.path, 0o755)
        }
        let binary = TemporarySpool.binary
        let serve = [
            "serve", "--spool", spool.layout.root, "--definitions", spool.definitions.path,
            "--settle", "2s", "--rescan", "200ms",
        ]
        let runner =
            asRoot
            ? try RunningCommand(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + serve,
                environment: ["HOME": "/"], directory: spool.root.path)
            : try RunningCommand(executable: binary, arguments: serve, environment: [:], directory: spool.root.path)
        let runnerPID = runner.pid
        let result = try await runner.stopping(with: SIGTERM) {
            #expect(await spool.eventually { FileManager.default.fileExists(atPath: spool.layout.heartbeatFile) })

            // A slow client writing straight into inbox/ beside the hostile ones: pauses shorter than
            // --settle, so it must be taken once whole, never rejected half written.
            let slowPath = "\(spool.layout.inbox)/slow-writer.json"
            let slowBody = Array(#"{"process_type": "greet", "user_id": "user_7", "note": "slow"}"#.utf8)
            let slowDone = DispatchSemaphore(value: 0)
            Thread {
                let fd = open(slowPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
                for start in stride(from: 0, to: slowBody.count, by: 16) {
                    _ = slowBody[start..<min(start + 16, slowBody.count)].withUnsafeBytes {
                        write(fd, $0.baseAddress, $0.count)
                    }
                    usleep(500_000)
                }
                close(fd)
                slowDone.signal()
            }.start()
            var valid: [String] = []
            for (index, item) in cases.enumerated() {
                try Self.plant(item, in: spool, secret: secret, fifo: fifo, asRoot: asRoot)
                if index % 5 == 4 {
                    let id = "valid-\(index)"
                    try spool.drop(id, #"{"process_type": "greet", "user_id": "user_\#(index)"}"#)
                    valid.append(id)
                }
            }
            await DedicatedThread.run { slowDone.wait() }

            let expected = Dictionary(uniqueKeysWithValues: cases.map { ($0.name, $0.code) })
            #expect(
                await spool.eventually(timeout: 120) {
                    ((try? spool.rejectionRows().count) ?? 0) >= cases.count
                        && valid.allSatisfy { spool.status($0)?.status == .success }
                        && spool.status("slow-writer")?.status == .success
                }, "rejected: \((try? spool.rejectionRows().map(\.file)) ?? [])")
            // Longer than --settle again: nothing is judged a second time.
            try await Task.sleep(for: .seconds(3))

            #expect(kill(runnerPID, 0) == 0, "the runner is gone")
            let heartbeat = try #require(TemporarySpool.jsonObject(atPath: spool.layout.heartbeatFile))
            #expect((heartbeat["pid"] as? Int).map(Int32.init) == runnerPID, "the runner restarted")

            let rows = try spool.rejectionRows()
            var byFile: [String: [String]] = [:]
            for row in rows { byFile[row.file, default: []].append(row.code) }
            for item in cases {
                #expect(
                    byFile[item.name] == [item.code],
                    "\(item.name): rejections \(byFile[item.name] ?? []), expected one \(item.code); \(rows.first { $0.file == item.name }?.message ?? "")"
                )
            }
            #expect(rows.count == cases.count, "unexpected rejections: \(Set(byFile.keys).subtracting(expected.keys))")
            for id in valid { #expect(spool.status(id)?.status == .success, "\(id) did not succeed") }
            #expect(spool.status("slow-writer")?.status == .success)
            #expect(spool.inboxFiles().isEmpty, "left in inbox: \(spool.inboxFiles())")

            // Nothing deleted: every bad file is in rejected/, unchanged, with its error beside it.
            for item in cases {
                let path = "\(spool.layout.rejected)/\(item.name)"
                var info = stat()
                #expect(lstat(path, &info) == 0, "\(item.name) is not in rejected/")
                #expect(FileManager.default.fileExists(atPath: path + ".error.json"), "\(item.name) has no error file")
                if item.kind == "regular" || item.kind == "future_mtime", let bytes = item.bytes {
                    #expect(
                        FileManager.default.contents(atPath: path) == bytes,
                        "\(item.name) changed on its way to rejected/")
                }
            }
            // Outside the spool, untouched.
            #expect(try String(contentsOfFile: secret, encoding: .utf8) == "not a request\n")
            #expect(TemporarySpool.fileType(fifo) == S_IFIFO)
            #expect(try spool.integrityCheck() == "ok")
        }
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
    }

    /// Puts one case into inbox/, the way a hostile or careless client would.
    static func plant(_ item: Case, in spool: TemporarySpool, secret: String, fifo: String, asRoot: Bool) throws {
        let target = "\(spool.layout.inbox)/\(item.name)"
        switch item.kind {
        case "symlink_outside":
            #expect(symlink(secret, target) == 0)
        case "symlink_fifo":
            #expect(symlink(fifo, target) == 0)
        case "fifo":
            #expect(mkfifo(target, 0o644) == 0)
        case "directory":
            // A client's own directory (moving a directory needs write access to it).
            #expect(mkdir(target, 0o755) == 0)
            if asRoot { chown(target, 65534, 65534) }
        case "hardlink_outside":
            #expect(link(secret, target) == 0)
        case "unreadable":
            let staged = "\(spool.layout.tmp)/\(item.name)"
            try (item.bytes ?? Data()).write(to: URL(fileURLWithPath: staged))
            chmod(staged, 0o000)
            #expect(rename(staged, target) == 0)
        case "future_mtime":
            let staged = "\(spool.layout.tmp)/\(item.name)"
            try (item.bytes ?? Data()).write(to: URL(fileURLWithPath: staged))
            let tomorrow = time(nil) + 86_400
            var times = [timespec(tv_sec: tomorrow, tv_nsec: 0), timespec(tv_sec: tomorrow, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, staged, &times, 0) == 0)
            if asRoot { chown(staged, 65534, 65534) }
            #expect(rename(staged, target) == 0)
        default:
            let staged = "\(spool.layout.tmp)/.staging-\(UUID().uuidString)"
            try (item.bytes ?? Data()).write(to: URL(fileURLWithPath: staged))
            if asRoot { chown(staged, 65534, 65534) }
            #expect(rename(staged, target) == 0)
        }
    }
}

extension Data {
    init(hexString: String) {
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            bytes.append(UInt8(hexString[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}
