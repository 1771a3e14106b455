import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The metrics file read by the real `prometheus-node-exporter` (Debian's), as in the README's
/// setup: its textfile collector on a directory, scraped over loopback.
@Suite(.endToEnd) struct NodeExporterTests {
    /// A loopback port nothing listens on now (the kernel's pick for port 0).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            throw HTTPTestClient.Failure(description: "no free port: \(String(cString: strerror(errno)))")
        }
        return UInt16(bigEndian: address.sin_port)
    }

    @Test func nodeExporterReadsTheFileWithoutAScrapeError() async throws {
        guard
            let exporter = RequiredTool.find(
                "prometheus-node-exporter", installHint: "apt-get install prometheus-node-exporter")
        else { return }
        let spool = try TemporarySpool()
        try spool.define("ok.yaml", "tasks:\n  - name: a\n    shell: 'true'\n")
        try spool.drop("ok1", #"{"process_type": "ok"}"#)
        let directory = spool.root.appendingPathComponent("node-exporter").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = "\(directory)/spoolrunner.prom"
        let run = try await spool.serveOnce(["--metrics-file", file])
        #expect(run.status == 0, "\(run.standardError)")

        let port = try Self.freePort()
        let node = try RunningCommand(
            executable: exporter,
            arguments: [
                "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
                "--collector.textfile.directory=\(directory)",
            ], environment: [:], directory: spool.root.path)
        defer { node.signal(SIGKILL) }
        var body: String?
        let deadline = Date().addingTimeInterval(60)
        while body == nil, Date() < deadline, node.process.isRunning {
            if let reply = try? HTTPTestClient.send(port: port, "GET", "/metrics", timeout: 10), reply.status == 200 {
                body = reply.text
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        node.signal(SIGTERM)
        let log = await node.wait(timeout: 30).standardError
        let text = try #require(body, "node_exporter did not answer on 127.0.0.1:\(port): \(log)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("node_textfile_scrape_error 0"), "\(text)")
        #expect(!lines.contains("node_textfile_scrape_error 1"))
        #expect(lines.contains("spoolrunner_build_info{version=\"\(Version.current)\"} 1"), "\(text)")
        #expect(lines.contains(#"spoolrunner_processes_total{process_type="ok",status="success"} 1"#), "\(text)")
        #expect(lines.contains(#"spoolrunner_task_duration_seconds_count{process_type="ok",task="a"} 1"#), "\(text)")
        #expect(lines.contains { $0.hasPrefix("node_textfile_mtime_seconds{file=") && $0.contains("spoolrunner.prom") })
        #expect(!log.contains("level=error"), "\(log)")
    }
}
