import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 part 5: `make install` lays out the FHS paths, `make uninstall` takes them away, the
/// service units are hardened, and sysusers/tmpfiles create the user and the spool tree.
@Suite(.endToEnd) struct InstallTests {
    static var builtDirectory: String { URL(fileURLWithPath: TemporarySpool.binary).deletingLastPathComponent().path }

    static func make(_ arguments: [String]) async throws -> CommandResult? {
        guard let make = RequiredTool.find("make", installHint: "apt-get install make") else { return nil }
        return try await Shell.run(make, ["-s", "-C", Repository.root.path] + arguments)
    }

    static func files(under root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files.append("/" + path)
            }
        }
        return files.sorted()
    }

    static func repositoryFiles(_ directory: String, suffix: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Repository.path(directory)).filter {
            !$0.hasPrefix(".") && $0.hasSuffix(suffix)
        }.sorted()
    }

    /// What `make install DESTDIR=... PREFIX=/usr` must put where, from the repository's own files.
    static func expectedFiles() throws -> [String] {
        var files = ["/usr/bin/spoolrunner", "/usr/bin/spoolrunner-http"]
        files += try repositoryFiles("docs/man", suffix: ".1").map { "/usr/share/man/man1/\($0)" }
        files += [
            "/usr/share/man/man5/spoolrunner.5",
            "/usr/share/bash-completion/completions/spoolrunner",
            "/usr/share/zsh/site-functions/_spoolrunner",
            "/usr/share/fish/vendor_completions.d/spoolrunner.fish",
            "/usr/lib/sysusers.d/spoolrunner.conf", "/usr/lib/tmpfiles.d/spoolrunner.conf",
        ]
        files += ["request", "status", "definition"].map { "/usr/share/spoolrunner/schemas/\($0).schema.json" }
        files += [
            "spoolrunner.service", "spoolrunner-once.service", "spoolrunner.path", "spoolrunner.timer",
            "spoolrunner-http.service",
        ]
        .map { "/usr/lib/systemd/system/\($0)" }
        let examples = try repositoryFiles("definitions", suffix: ".yaml") + ["definition.schema.json"]
        let scripts = try repositoryFiles("definitions/scripts")
        for base in ["/usr/share/spoolrunner/examples", "/etc/spoolrunner/definitions"] {
            files += examples.map { "\(base)/\($0)" } + scripts.map { "\(base)/scripts/\($0)" }
        }
        return files.sorted()
    }

    @Test func installLaysOutTheFHSPathsAndUninstallTakesThemAway() async throws {
        let stage = NSTemporaryDirectory() + "stage-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: stage) }
        guard
            let installed = try await Self.make([
                "install", "DESTDIR=\(stage)", "PREFIX=/usr", "BUILT=\(Self.builtDirectory)",
            ])
        else { return }
        #expect(installed.status == 0, "\(installed.standardError)")
        #expect(Self.files(under: stage) == (try Self.expectedFiles()))
        // install starts nothing: it prints the next steps.
        for step in [
            "systemd-sysusers", "systemd-tmpfiles --create", "systemctl daemon-reload",
            "systemctl enable --now spoolrunner",
        ] {
            #expect(installed.standardOutput.contains(step), "\(installed.standardOutput)")
        }
        // The staged binary runs; DESTDIR is never written into a file.
        let version = try await Shell.run("\(stage)/usr/bin/spoolrunner", ["--version"])
        #expect(version.status == 0 && !version.standardOutput.isEmpty)
        let unit = try String(contentsOfFile: "\(stage)/usr/lib/systemd/system/spoolrunner.service", encoding: .utf8)
        #expect(
            unit.contains(
                "ExecStart=/usr/bin/spoolrunner serve --spool /var/spool/spoolrunner --definitions /etc/spoolrunner/definitions"
            ))
        for file in Self.files(under: stage) where !file.hasPrefix("/usr/bin/") {
            let text = (try? String(contentsOfFile: stage + file, encoding: .utf8)) ?? ""
            #expect(!text.contains(stage), "\(file) names the staging directory")
        }
        // An edited definition in /etc is the administrator's: a second install leaves it alone,
        // uninstall keeps it.
        let edited = "\(stage)/etc/spoolrunner/definitions/premium_subscription.yaml"
        try "# mine\n".write(toFile: edited, atomically: true, encoding: .utf8)
        #expect(
            try await Self.make(["install", "DESTDIR=\(stage)", "PREFIX=/usr", "BUILT=\(Self.builtDirectory)"])?.status
                == 0)
        #expect(try String(contentsOfFile: edited, encoding: .utf8) == "# mine\n")
        let removed = try await Self.make(["uninstall", "DESTDIR=\(stage)", "PREFIX=/usr"])
        #expect(removed?.status == 0, "\(removed?.standardError ?? "")")
        #expect(Self.files(under: stage) == ["/etc/spoolrunner/definitions/premium_subscription.yaml"])
        try FileManager.default.removeItem(atPath: edited)
        #expect(try await Self.make(["uninstall", "DESTDIR=\(stage)", "PREFIX=/usr"])?.status == 0)
        #expect(Self.files(under: stage).isEmpty, "make uninstall leaves nothing behind: \(Self.files(under: stage))")
    }

    static let hardening = [
        "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/spool/spoolrunner", "ProtectHome=yes",
        "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes", "ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes",
        "RestrictSUIDSGID=yes", "RestrictRealtime=yes", "RestrictNamespaces=yes", "LockPersonality=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service", "CapabilityBoundingSet=", "UMask=0027", "SyslogIdentifier=spoolrunner",
    ]

    @Test(arguments: ["spoolrunner.service", "spoolrunner-once.service"])
    func serviceUnitIsHardenedAndScoresUnder25(unit: String) async throws {
        let text = try ContribUnitTests.contents(unit)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for setting in Self.hardening {
            #expect(lines.contains(setting), "\(unit) lacks \(setting)")
        }
        // Relaxations every task depends on: JIT runtimes and network access.
        #expect(!text.contains("MemoryDenyWriteExecute=yes"))
        #expect(!text.contains("PrivateNetwork=yes"))
        guard RequiredTool.find("systemd-analyze", installHint: "apt-get install systemd") != nil else { return }
        let directory = NSTemporaryDirectory() + "security-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try text.replacingOccurrences(of: "/usr/local/bin/spoolrunner", with: TemporarySpool.binary)
            .write(toFile: "\(directory)/\(unit)", atomically: true, encoding: .utf8)
        let result = try await Shell.run(
            "/usr/bin/env", ["systemd-analyze", "security", "--offline=true", "--threshold=25", "./\(unit)"],
            environment: ["SYSTEMD_LOG_COLOR": "0", "SYSTEMD_COLORS": "0"], directory: directory)
        #expect(result.status == 0, "\(result.standardOutput.suffix(600))\(result.standardError)")
        let score = result.standardOutput.range(
            of: #"Overall exposure level for [^:]+: ([0-9.]+)"#, options: .regularExpression
        )
        .map { String(result.standardOutput[$0]).split(separator: " ").last.map(String.init) ?? "" }
        let exposure = try #require(score.flatMap(Double.init), "\(result.standardOutput.suffix(300))")
        print("systemd-analyze security \(unit): exposure \(exposure)")
        #expect(exposure <= 2.5, "\(unit): exposure \(exposure)")
    }

    @Test func sysusersAndTmpfilesCreateTheUserAndTheSpoolTree() async throws {
        guard RequiredTool.find("systemd-sysusers", installHint: "apt-get install systemd") != nil,
            RequiredTool.find("systemd-tmpfiles", installHint: "apt-get install systemd") != nil
        else { return }
        let root = NSTemporaryDirectory() + "sysroot-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let users = try await Shell.run(
            "/usr/bin/env",
            ["systemd-sysusers", "--root=\(root)", Repository.path("contrib/sysusers.d/spoolrunner.conf")])
        #expect(users.status == 0, "\(users.standardError)")
        let passwd = try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)
        let entry = try #require(passwd.split(separator: "\n").first { $0.hasPrefix("spoolrunner:") }, "\(passwd)")
        let fields = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        #expect(fields[4] == "spoolrunner job runner")
        #expect(fields[5] == "/var/spool/spoolrunner")
        let uid = try #require(UInt32(fields[2]))
        let gid = try #require(UInt32(fields[3]))
        let tree = try await Shell.run(
            "/usr/bin/env",
            ["systemd-tmpfiles", "--create", "--root=\(root)", Repository.path("contrib/tmpfiles.d/spoolrunner.conf")])
        #expect(tree.status == 0, "\(tree.standardError)")
        let expected: [(String, UInt16)] = [
            ("", 0o750), ("/tmp", 0o2770), ("/inbox", 0o2770), ("/control", 0o2770), ("/outbox", 0o2750),
            ("/rejected", 0o750), ("/work", 0o750), ("/logs", 0o750),
        ]
        for (path, mode) in expected {
            var info = stat()
            #expect(stat("\(root)/var/spool/spoolrunner\(path)", &info) == 0, "missing \(path)")
            #expect(UInt16(info.st_mode & 0o7777) == mode, "\(path): mode \(String(info.st_mode & 0o7777, radix: 8))")
            #expect(info.st_uid == uid && info.st_gid == gid, "\(path): owner \(info.st_uid):\(info.st_gid)")
        }
        // tmp/ ages out like a Maildir's: stale files after a day.
        #expect(
            try String(contentsOfFile: Repository.path("contrib/tmpfiles.d/spoolrunner.conf"), encoding: .utf8)
                .contains("d /var/spool/spoolrunner/tmp      2770 spoolrunner spoolrunner 1d"))
    }
}
