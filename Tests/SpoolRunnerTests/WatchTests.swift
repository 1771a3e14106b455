import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `spoolrunner watch` in a real pseudo-terminal (tmux, read back with capture-pane), and its
/// plain-lines fallback when standard output is not a terminal.
@Suite(.endToEnd) struct WatchTests {
    static let release =
        "tasks:\n  - name: fetch\n    sleep: 1ms\n  - name: build\n    sleep: 3s\n  - name: publish\n    sleep: 1ms\n"

    /// tmux on a private socket, so the test never touches a user's tmux server. Run through
    /// posix_spawn and waitpid: the client returns while the server it started lives on. The
    /// waits happen on a thread of their own (`run`), not on the test pool's; only the
    /// `kill-server` of a `defer`, which cannot suspend, blocks (`runBlocking`).
    struct Tmux: Sendable {
        let socket: String

        @discardableResult
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await DedicatedThread.run { try runBlocking(arguments) }
        }

        @discardableResult
        func runBlocking(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let output = NSTemporaryDirectory() + "tmux-out-\(UUID().uuidString)"
            defer { unlink(output) }
            let quoted = (["tmux", "-S", socket] + arguments).map {
                "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
            }
            let argv = ["/bin/sh", "-c", "exec " + quoted.joined(separator: " ") + " </dev/null >\(output) 2>&1"]
            var pid: pid_t = 0
            let cArguments = argv.map { strdup($0) } + [nil]
            defer { for argument in cArguments { free(argument) } }
            guard posix_spawn(&pid, "/bin/sh", nil, nil, cArguments, environ) == 0 else { throw POSIXError(.EIO) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return ((status >> 8) & 0xff, text)
        }

        func screen() async throws -> String {
            try await run(["capture-pane", "-p", "-t", "watch"]).output
        }
    }

    @Test func screenShowsAProcessMovingFromRunningToSuccess() async throws {
        try Requirement.tool("tmux")
        let spool = try TemporarySpool()
        try spool.define("release.yaml", Self.release)
        let runner = try spool.start(["serve", "--grace", "1s"])
        try await runner.stopping(with: SIGTERM) { try await Self.followTheScreen(spool) }
    }

    /// The watch screen in tmux while a runner runs `rel-1`. A function of its own, not the body
    /// of the `stopping` closure: inlined there, Swift 6.3.1's SIL pass AccessEnforcementSelection
    /// crashes on it.
    static func followTheScreen(_ spool: TemporarySpool) async throws {
        var screen = ""
        let tmux = Tmux(socket: spool.root.appendingPathComponent("tmux.sock").path)
        defer { _ = try? tmux.runBlocking(["kill-server"]) }
        let command = "env -u NO_COLOR TERM=xterm \(TemporarySpool.binary) watch --spool \(spool.layout.root)"
        try await tmux.run(["new-session", "-d", "-s", "watch", "-x", "120", "-y", "20", command])
        #expect(
            await spool.eventually(timeout: 20) { (try? await tmux.screen())?.contains("no processes yet") == true })

        try spool.drop("rel-1", #"{"process_type": "release"}"#)
        let running = await spool.eventually(timeout: 20) {
            screen = (try? await tmux.screen()) ?? ""
            return screen.split(separator: "\n").contains {
                $0.hasPrefix("rel-1") && $0.contains("[###-------] 1/3") && $0.contains("build ")
            }
        }
        #expect(running, "\(screen)")
        #expect(screen.contains("1 running · 0 pending"), "\(screen)")
        let succeeded = await spool.eventually(timeout: 20) {
            screen = (try? await tmux.screen()) ?? ""
            return screen.split(separator: "\n").contains {
                $0.hasPrefix("rel-1") && $0.contains("[##########] 3/3") && $0.contains("success")
            }
        }
        #expect(succeeded, "\(screen)")
        #expect(screen.contains("0 running · 0 pending"), "\(screen)")

        // q quits and gives the terminal back.
        try await tmux.run(["send-keys", "-t", "watch", "q"])
        #expect(
            await spool.eventually(timeout: 10) { (try? await tmux.run(["has-session", "-t", "watch"]))?.status != 0 })
    }

    @Test(arguments: [false, true])
    func plainLinesWhenNotATerminalOrNoColor(_ noColor: Bool) async throws {
        let spool = try TemporarySpool()
        try spool.define("release.yaml", Self.release.replacingOccurrences(of: "3s", with: "1s"))
        let runner = try spool.start(["serve", "--grace", "1s"])
        try await runner.stopping(with: SIGTERM) {
            // Standard output is a file here (not a terminal); NO_COLOR on top must change nothing.
            let watch = try spool.start(
                ["watch", "--interval", "100ms"], environment: noColor ? ["NO_COLOR": "1"] : [:])
            try spool.drop("rel-1", #"{"process_type": "release"}"#)
            #expect(await spool.eventually(timeout: 20) { spool.status("rel-1")?.status == .success })
            try await Task.sleep(for: .milliseconds(600))
            watch.signal(SIGTERM)
            let output = await watch.wait().standardOutput
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.first?.contains("plain lines") == true, "\(output)")
            #expect(!output.contains("\u{1B}"), "escape sequences in plain output: \(output)")
            let rel = lines.filter { $0.contains("  rel-1 ") }
            #expect(rel.contains { $0.contains("1/3") && $0.contains("build") }, "\(output)")
            #expect(
                rel.last?.contains("[##########] 3/3") == true && rel.last?.contains("success") == true, "\(output)")
            // One line per change, not one per redraw.
            #expect(rel.count <= 6, "\(output)")
        }
    }

    /// Plain lines end when standard output cannot be written (here /dev/full: ENOSPC) instead of
    /// looping on without output. The loop's exit is also what lets `swift build -c release`
    /// finish: an endless loop there kept the optimizer busy for good (BENCHMARKS.md).
    @Test func plainLinesStopWhenStandardOutputCannotBeWritten() async throws {
        let spool = try TemporarySpool()
        let watch = try RunningCommand(
            executable: "/bin/sh",
            arguments: [
                "-c", #"exec "$0" watch --spool "$1" --interval 100ms >/dev/full"#, TemporarySpool.binary,
                spool.layout.root,
            ],
            environment: [:], directory: nil)
        let result = await watch.wait(timeout: 60)
        #expect(watch.process.terminationReason == .exit, "killed after the timeout: it kept running")
        #expect(result.status == 0, "\(result.standardError)")
    }
}
