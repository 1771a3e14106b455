import Foundation
import Testing

@testable import SpoolRunner

/// The dashboard in a real browser: headless Chromium loads the pages of a real gateway over a
/// spool where the seed's process ran, and the test reads the DOM Chromium built.
@Suite(.endToEnd) struct GatewayBrowserTests {
    static let hostile = "<img src=x onerror=alert(1)>"

    /// Runs headless Chromium on `url` with `arguments` (`--dump-dom`, `--screenshot=...`).
    static func chromium(_ url: String, _ arguments: [String], in spool: TemporarySpool) async throws -> CommandResult {
        let profile = spool.root.appendingPathComponent("chromium-profile-\(UUID().uuidString.prefix(6))").path
        let command = try RunningCommand(
            executable: "/usr/bin/env",
            arguments: [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile)", "--window-size=1280,1100",
            ] + arguments + [url],
            environment: [:], directory: spool.root.path)
        return await command.wait(timeout: 120)
    }

    @Test func dashboardAndProcessPageInChromium() async throws {
        try Requirement.tool("chromium")
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        try spool.drop("seed_browser", #"{"process_type": "premium_subscription", "user_id": "user_123"}"#)
        let hostileBody = try JSONSerialization.data(withJSONObject: [
            "process_type": "premium_subscription", "user_id": Self.hostile,
        ])
        try spool.drop("hostile_1", String(decoding: hostileBody, as: UTF8.self))
        #expect(try await spool.serveOnce().status == 0)
        #expect(spool.status("seed_browser")?.status == .success)
        let gateway = try await GatewayProcess(spool)
        let base = "http://127.0.0.1:\(gateway.port)"

        let index = try await Self.chromium("\(base)/", ["--dump-dom"], in: spool)
        #expect(index.status == 0, "\(index.standardError.suffix(500))")
        #expect(
            index.standardOutput.contains(#"<tr class="process" data-process-id="seed_browser">"#),
            "\(index.standardOutput.prefix(3000))")
        #expect(index.standardOutput.contains(#"<tr class="process" data-process-id="hostile_1">"#))

        let page = try await Self.chromium("\(base)/ui/process/seed_browser", ["--dump-dom"], in: spool)
        #expect(page.status == 0, "\(page.standardError.suffix(500))")
        let bars = page.standardOutput.components(separatedBy: #"<rect class="bar bar-success""#).count - 1
        #expect(bars == 3, "\(page.standardOutput.prefix(4000))")
        for task in ["validate_user", "send_email", "register_external_service"] {
            #expect(page.standardOutput.contains(#"data-task="\#(task)" data-attempt="1""#))
        }

        // The hostile input is text in the DOM Chromium built, never an element.
        let hostile = try await Self.chromium("\(base)/ui/process/hostile_1", ["--dump-dom"], in: spool)
        #expect(hostile.status == 0)
        #expect(
            hostile.standardOutput.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "\(hostile.standardOutput.prefix(3000))")
        #expect(!hostile.standardOutput.contains("<img"))

        // Screenshots, for the README (kept when SPOOLRUNNER_SCREENSHOT_DIR names a directory).
        let directory = ProcessInfo.processInfo.environment["SPOOLRUNNER_SCREENSHOT_DIR"] ?? spool.root.path
        for (name, path) in [("dashboard-process.png", "/ui/process/seed_browser"), ("dashboard-index.png", "/")] {
            let file = "\(directory)/\(name)"
            let shot = try await Self.chromium(
                "\(base)\(path)", ["--screenshot=\(file)", "--hide-scrollbars"], in: spool)
            #expect(shot.status == 0, "\(shot.standardError.suffix(500))")
            let png = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            #expect(png.count > 10_000)
        }
    }

    /// Without a browser: every dashboard page carries the restrictive policy, and a cross-site
    /// form post is refused while the page's own post goes through.
    @Test func pagesCarryTheCSPAndStateChangesArePostOnly() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        try spool.drop("seed_csp", #"{"process_type": "premium_subscription", "user_id": "user_123"}"#)
        #expect(try await spool.serveOnce().status == 0)
        let gateway = try await GatewayProcess(spool)
        for path in ["/", "/ui/process/seed_csp", "/ui/definitions", "/?status=success&type=premium_subscription"] {
            let reply = try await gateway.get(path)
            #expect(reply.status == 200, "\(path)")
            #expect(reply.headers["content-type"] == "text/html; charset=utf-8")
            let policy = reply.headers["content-security-policy"] ?? ""
            #expect(
                policy.contains("default-src 'none'") && policy.contains("form-action 'self'")
                    && !policy.contains("unsafe-inline"), "\(policy)")
            #expect(!reply.text.contains("<script"))
        }
        let definitions = try await gateway.get("/ui/definitions").text
        #expect(definitions.contains("register_external_service") && definitions.contains("async"))
        // GET on a state-changing route is refused; a cross-site post too; the page's own post works.
        #expect(try await gateway.get("/ui/process/seed_csp/retry").status == 405)
        let crossSite = try await gateway.send(
            "POST", "/ui/process/seed_csp/cancel",
            headers: ["Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"])
        #expect(crossSite.status == 403)
        let own = try await gateway.send(
            "POST", "/ui/process/seed_csp/retry",
            headers: ["Origin": "http://127.0.0.1:\(gateway.port)", "Sec-Fetch-Site": "same-origin"])
        #expect(own.status == 303)
        #expect(own.headers["location"] == "/ui/process/seed_csp")
        let controls = try FileManager.default.contentsOfDirectory(atPath: spool.layout.control).filter {
            $0.hasSuffix(".json")
        }
        #expect(controls.count == 1 && controls[0].hasPrefix("retry-seed_csp-"), "\(controls)")
    }
}
