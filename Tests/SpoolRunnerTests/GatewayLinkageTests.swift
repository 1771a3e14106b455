import Foundation
import Testing

/// The two programs stay apart: `spoolrunner` links no HTTP server, `spoolrunner-http` no engine.
@Suite(.endToEnd) struct GatewayLinkageTests {
    static func symbols(_ binary: String) async throws -> String {
        let result = try await RunningCommand(
            executable: "/usr/bin/env", arguments: ["nm", binary], environment: [:], directory: NSTemporaryDirectory()
        ).wait()
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput
    }

    /// Swift mangles a symbol of module SpoolRunner as `11SpoolRunner` followed by the length of
    /// the next name (SpoolRunnerCLI is `14SpoolRunnerCLI`, SpoolRunnerHTTP `15SpoolRunnerHTTP`).
    static func hasEngineSymbol(_ symbols: String) -> Bool {
        symbols.range(of: "11SpoolRunner[0-9]", options: .regularExpression) != nil
    }

    @Test func runnerHasNoFlyingFoxAndGatewayHasNoEngine() async throws {
        try Requirement.tool("nm")
        let runner = try await Self.symbols(TemporarySpool.binary)
        let gateway = try await Self.symbols(GatewayProcess.binary)
        #expect(!runner.contains("FlyingFox") && !runner.contains("FlyingSocks"), "spoolrunner links FlyingFox")
        #expect(Self.hasEngineSymbol(runner), "the check must see the engine where it is")
        #expect(gateway.contains("FlyingFox"), "the check must see FlyingFox where it is")
        #expect(!Self.hasEngineSymbol(gateway), "spoolrunner-http links the engine (module SpoolRunner)")
        #expect(!gateway.contains("ProcessEngine"))
    }
}
