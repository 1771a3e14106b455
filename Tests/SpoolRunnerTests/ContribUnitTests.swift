import Foundation
import Testing

/// The units shipped in `contrib/systemd/` pass `systemd-analyze verify` with nothing to say
/// (no unknown key, no bad value), and the cron file runs `serve --once`.
@Suite(.endToEnd) struct ContribUnitTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let units = ["spoolrunner.service", "spoolrunner-once.service", "spoolrunner.path", "spoolrunner.timer"]

    /// Runs `systemd-analyze verify` on `files` copied into a temporary directory, with the
    /// installed binary path replaced by the freshly built one (verify checks that ExecStart exists).
    static func verify(_ files: [String: String]) async throws -> CommandResult {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in files {
            try text.replacingOccurrences(of: "/usr/local/bin/spoolrunner", with: TemporarySpool.binary)
                .write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let command = try RunningCommand(
            executable: "/usr/bin/env",
            arguments: ["systemd-analyze", "verify", "--man=no"] + files.keys.sorted().map { "./\($0)" },
            environment: ["SYSTEMD_LOG_COLOR": "0"], directory: directory.path)
        return await command.wait()
    }

    static func contents(_ name: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent("contrib/systemd/\(name)"), encoding: .utf8)
    }

    @Test(arguments: units) func unitVerifiesClean(_ unit: String) async throws {
        try Requirement.tool("systemd-analyze")
        // The path and timer units name spoolrunner-once.service: verify them together with it.
        var files = [unit: try Self.contents(unit)]
        if unit.hasSuffix(".path") || unit.hasSuffix(".timer") {
            files["spoolrunner-once.service"] = try Self.contents("spoolrunner-once.service")
        }
        let result = try await Self.verify(files)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardError.isEmpty && result.standardOutput.isEmpty,
            "\(result.standardError)\(result.standardOutput)")
    }

    /// The check above can fail: a misspelt key is reported.
    @Test func verifyReportsAMisspeltKey() async throws {
        try Requirement.tool("systemd-analyze")
        let broken = try Self.contents("spoolrunner.service").replacingOccurrences(
            of: "KillMode=mixed", with: "KillMod=mixed")
        let result = try await Self.verify(["spoolrunner.service": broken])
        #expect(result.standardError.contains("Unknown key"), "\(result.standardError)")
    }

    @Test func serviceUnitSaysWhatTheREADMEPromises() throws {
        let service = try Self.contents("spoolrunner.service")
        for line in ["Type=notify", "KillMode=mixed", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec="] {
            #expect(service.contains(line), "spoolrunner.service lacks \(line)")
        }
        #expect(try Self.contents("spoolrunner.path").contains("Unit=spoolrunner-once.service"))
        #expect(try Self.contents("spoolrunner.timer").contains("Unit=spoolrunner-once.service"))
        #expect(try Self.contents("spoolrunner-once.service").contains("serve --once"))
    }

    @Test func cronLineRunsServeOnce() throws {
        let cron = try String(
            contentsOf: Self.repository.appendingPathComponent("contrib/cron/spoolrunner"), encoding: .utf8)
        let jobs = cron.split(separator: "\n").filter { $0.hasPrefix("* * * * *") }
        #expect(jobs.count == 1)
        #expect(jobs.first?.contains("spoolrunner serve --once") == true)
        // /etc/cron.d lines carry a user name between the time and the command.
        #expect(jobs.first?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first == "spoolrunner")
    }
}

/// `contrib/systemd/spoolrunner-http.service`: verifies clean and keeps its hardening.
@Suite(.endToEnd) struct GatewayUnitTests {
    @Test func gatewayUnitVerifiesCleanAndIsHardened() async throws {
        let unit = try ContribUnitTests.contents("spoolrunner-http.service")
        for line in [
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/spool/spoolrunner", "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet=",
            "SystemCallFilter=@system-service",
            "--listen 127.0.0.1:8080", "KillSignal=SIGTERM",
        ] {
            #expect(unit.contains(line), "spoolrunner-http.service lacks \(line)")
        }
        try Requirement.tool("systemd-analyze")
        let result = try await ContribUnitTests.verify(["spoolrunner-http.service": unit])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardError.isEmpty && result.standardOutput.isEmpty,
            "\(result.standardError)\(result.standardOutput)")
    }
}
