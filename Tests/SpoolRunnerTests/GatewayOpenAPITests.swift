import Foundation
import Testing

@testable import SpoolGateway

/// `/openapi.json` is the checked-in `docs/openapi.json`, a valid OpenAPI 3.1 document, and lists
/// exactly the routes the gateway serves.
@Suite(.endToEnd) struct GatewayOpenAPITests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.json")

    static func operations(_ document: [String: Any]) -> Set<String> {
        var result = Set<String>()
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for method in item.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                result.insert("\(method.uppercased()) \(path)")
            }
        }
        return result
    }

    @Test func embeddedDocumentIsTheCheckedInFile() throws {
        let text = try String(contentsOf: Self.file, encoding: .utf8)
        #expect(OpenAPIDocument.json == text, "run scripts/embed-openapi.sh after editing docs/openapi.json")
    }

    @Test func documentListsExactlyTheRouteTable() throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let served = Set(Endpoint.allCases.map { "\($0.method.rawValue) \($0.path)" })
        #expect(Self.operations(document) == served)
    }

    /// The live server: every documented operation is routed (none is `no_such_route` or 405),
    /// undocumented ones are not, and it serves the file byte for byte.
    @Test func liveServerAnswersEveryDocumentedOperation() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let gateway = try await GatewayProcess(spool)
        let served = try await gateway.get("/openapi.json")
        #expect(served.body == (try Data(contentsOf: Self.file)))
        let document = try #require(served.object)
        for operation in Self.operations(document) {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].replacingOccurrences(of: "{process_id}", with: "proc_000000000000")
                .replacingOccurrences(of: "{file}", with: "task.1.log")
            let reply = try await gateway.send(
                parts[0], path, headers: ["Content-Type": "application/json"],
                body: parts[0] == "POST" ? Data("{}".utf8) : nil)
            #expect(
                reply.errorCode != "no_such_route" && reply.status != 405,
                "\(operation) → \(reply.status) \(reply.text.prefix(200))")
        }
        for undocumented in [
            "GET /api/process", "DELETE /api/process/proc_000000000000", "GET /ui/process/x/logs",
            "GET /api/processes/extra",
        ] {
            let parts = undocumented.split(separator: " ").map(String.init)
            let reply = try await gateway.send(parts[0], parts[1])
            #expect(reply.errorCode == "no_such_route" || reply.status == 405, "\(undocumented) → \(reply.status)")
        }
    }

    /// Python's openapi-spec-validator accepts the document and rejects a broken copy.
    @Test func documentValidatesWithOpenAPISpecValidator() async throws {
        let probe = try await RunningCommand(
            executable: "/usr/bin/env", arguments: ["python3", "-c", "import openapi_spec_validator"],
            environment: [:], directory: NSTemporaryDirectory()
        ).wait()
        try Requirement.check(
            probe.status == 0,
            "needs the Python package openapi-spec-validator (pip install openapi-spec-validator); .ci/run installs it")
        let script = """
            import json, sys
            from openapi_spec_validator import validate
            validate(json.load(open(sys.argv[1])))
            print("valid")
            """
        let valid = try await RunningCommand(
            executable: "/usr/bin/env", arguments: ["python3", "-c", script, Self.file.path],
            environment: [:], directory: NSTemporaryDirectory()
        ).wait()
        #expect(valid.status == 0, "\(valid.standardError)")
        #expect(valid.standardOutput.contains("valid"))

        var broken = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as? [String: Any])
        var paths = broken["paths"] as! [String: Any]
        paths["/api/process/{process_id}"] = ["get": ["responses": ["200": ["description": "x"]]]]
        broken["paths"] = paths
        let brokenFile = NSTemporaryDirectory() + "openapi-broken-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: broken).write(to: URL(fileURLWithPath: brokenFile))
        defer { try? FileManager.default.removeItem(atPath: brokenFile) }
        let invalid = try await RunningCommand(
            executable: "/usr/bin/env", arguments: ["python3", "-c", script, brokenFile],
            environment: [:], directory: NSTemporaryDirectory()
        ).wait()
        #expect(invalid.status != 0, "a path parameter without its definition must not validate")
    }
}
