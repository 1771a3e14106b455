import Foundation
import Testing

/// Issue 13: "a run without `--store` never opens a network connection". The real binary runs a
/// request end to end under `strace -f`, which records every `socket(2)` and `connect(2)` of the
/// runner and its tasks; only local (AF_UNIX) sockets may appear. The same trace of a command
/// given `--store` shows its TCP socket, so the check is known to see one when there is one.
@Suite(.endToEnd) struct NoNetworkTests {
    @Test func theSQLiteDefaultOpensNoNetworkSocket() async throws {
        guard let strace = RequiredTool.find("strace", installHint: "apt-get install strace") else { return }
        let spool = try TemporarySpool()
        try spool.define(
            "nap.yaml",
            """
            tasks:
              - name: nap
                sleep: 10ms
              - name: done
                run: ["/bin/true"]
            """)
        try spool.drop("p1", #"{"process_type": "nap"}"#)
        let trace = spool.root.appendingPathComponent("serve.trace").path
        let result = try await Shell.run(
            strace,
            ["-f", "-qq", "-e", "trace=socket,connect,openat", "-o", trace, TemporarySpool.binary, "serve", "--once"]
                + ["--spool", spool.layout.root, "--definitions", spool.definitions.path],
            environment: ["NOTIFY_SOCKET": ""])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("p1")?.status == .success)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        // The trace really covers the run: the runner opened its SQLite store and spawned the task.
        #expect(lines.contains { $0.contains("history.sqlite") })
        let network = lines.filter(Self.isNetwork)
        #expect(network.isEmpty, "network sockets without --store:\n\(network.joined(separator: "\n"))")
    }

    /// The control: a read command given a `--store` URL opens a TCP socket, and the filter sees it.
    @Test func theTraceSeesTheSocketOfAStoreURL() async throws {
        guard let strace = RequiredTool.find("strace", installHint: "apt-get install strace") else { return }
        let spool = try TemporarySpool()
        let trace = spool.root.appendingPathComponent("history.trace").path
        let result = try await Shell.run(
            strace,
            ["-f", "-qq", "-e", "trace=socket,connect", "-o", trace, TemporarySpool.binary, "history"]
                + ["--store", "postgres://nobody@127.0.0.1:1/none?sslmode=disable"])
        #expect(result.status != 0)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains(where: Self.isNetwork), "\(lines.joined(separator: "\n"))")
    }

    private static func isNetwork(_ line: Substring) -> Bool {
        line.contains("AF_INET")  // AF_INET6 too
    }
}
