import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `spoolrunner-http` over real HTTP: the real binary, a real runner, a temporary spool.
@Suite(.endToEnd) struct GatewayAPITests {
    static let seedRequest = #"{"process_type": "premium_subscription", "user_id": "user_123"}"#

    /// Polls the seed's status route until the process reaches a final status.
    static func waitForEnd(_ gateway: GatewayProcess, _ id: String, timeout: Double = 90) async throws -> [String: Any]
    {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let reply = try await gateway.get("/process/\(id)/status")
            if reply.status == 200, let status = reply.object?["status"] as? String,
                ["success", "failed", "cancelled", "rejected"].contains(status)
            {
                return reply.object!
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HTTPTestClient.Failure(description: "\(id) did not end within \(timeout) s")
    }

    @Test func seedPostReachesSuccessWithTheSeedsFields() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM) {
            let gateway = try await GatewayProcess(spool)

            let reply = try await gateway.post("/api/process/", Self.seedRequest)
            #expect(reply.status == 202, "\(reply.text)")
            let id = try #require(reply.object?["process_id"] as? String)
            #expect(id.range(of: "^proc_[0-9a-f]{12}$", options: .regularExpression) != nil)
            #expect(reply.object?["status"] as? String == "pending")
            #expect(reply.headers["location"] == "/process/\(id)/status")
            #expect(reply.headers["content-type"] == "application/json")

            let status = try await Self.waitForEnd(gateway, id)
            #expect(status["status"] as? String == "success")
            #expect(status["process_id"] as? String == id)
            let tasks = try #require(status["tasks"] as? [[String: Any]])
            #expect(
                tasks.map { $0["task_name"] as? String } == [
                    "validate_user", "send_email", "register_external_service",
                ])
            for task in tasks {
                #expect(task["status"] as? String == "success")
                #expect(task["started_at"] is String && task["ended_at"] is String)
            }
            // Both status routes serve the status file byte for byte.
            let file = try Data(contentsOf: URL(fileURLWithPath: spool.layout.statusFile(id)))
            #expect(try await gateway.get("/process/\(id)/status").body == file)
            #expect(try await gateway.get("/api/process/\(id)").body == file)

            // The history routes see it.
            let list = try await gateway.get("/api/processes?type=premium_subscription&status=success&since=1h")
            #expect(list.status == 200, "\(list.text)")
            let rows = try #require(list.object?["processes"] as? [[String: Any]])
            #expect(rows.map { $0["process_id"] as? String } == [id])
            #expect((rows.first?["inputs"] as? [String: Any])?["user_id"] as? String == "user_123")
            #expect(
                (try await gateway.get("/api/processes?status=failed").object?["processes"] as? [Any])?.isEmpty == true)
            let events = try #require(
                try await gateway.get("/api/process/\(id)/events").object?["events"] as? [[String: Any]])
            #expect(events.filter { $0["event"] as? String == "task_started" }.count == 3)
            let definitions = try #require(
                try await gateway.get("/api/definitions").object?["definitions"] as? [[String: Any]])
            let seed = try #require(definitions.first { $0["process_type"] as? String == "premium_subscription" })
            let seedTasks = try #require(seed["tasks"] as? [[String: Any]])
            #expect(seedTasks.map { $0["mode"] as? String } == ["sync", "async", "sync"])
            #expect(try await gateway.get("/healthz").status == 200)

            // SIGTERM: a clean stop.
            let stopped = await gateway.stop()
            #expect(stopped.status == 0, "\(stopped.standardError)")
            #expect(stopped.standardError.contains("stopping"))
        }
    }

    @Test func everyErrorCodeOverHTTP() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let gateway = try await GatewayProcess(spool)
        func expectError(
            _ reply: HTTPReply, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
        ) async {
            #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
            #expect(reply.errorCode == code, "\(reply.text)", sourceLocation: sourceLocation)
            let message = (reply.object?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(!message.isEmpty, sourceLocation: sourceLocation)
        }
        await expectError(
            try gateway.post("/api/process/", #"{"process_type": "premium_subscription", "#), 400, "invalid_json")
        // The runner's strict reading: a body it would reject is refused at once, naming the key.
        let duplicate = try await gateway.post(
            "/api/process/", #"{"process_type": "premium_subscription", "user_id": "user_1", "user_id": "admin"}"#)
        await expectError(duplicate, 400, "invalid_json")
        #expect(
            ((duplicate.object?["error"] as? [String: Any])?["message"] as? String)?.contains(
                #"duplicate key "user_id""#) == true, "\(duplicate.text)")
        await expectError(try gateway.post("/api/process/", "[1, 2]"), 400, "not_an_object")
        await expectError(try gateway.post("/api/process/", #"{"user_id": "user_1"}"#), 400, "unknown_process_type")
        await expectError(try gateway.post("/api/process/", #"{"process_type": "nope"}"#), 400, "unknown_process_type")
        let invalid = try await gateway.post(
            "/api/process/", #"{"process_type": "premium_subscription", "plan": "weekly"}"#)
        await expectError(invalid, 400, "invalid_inputs")
        let message = (invalid.object?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("user_id") && message.contains("plan"), "\(message)")
        await expectError(
            try gateway.send(
                "POST", "/api/process/", headers: ["Content-Type": "text/plain"], body: Data(Self.seedRequest.utf8)),
            415, "unsupported_media_type")
        let big = Data(
            ("{\"process_type\": \"premium_subscription\", \"user_id\": \""
                + String(repeating: "x", count: 2 * 1024 * 1024) + "\"}").utf8)
        await expectError(
            try gateway.send("POST", "/api/process/", headers: ["Content-Type": "application/json"], body: big), 413,
            "too_large")
        await expectError(
            try gateway.post("/api/process/", Self.seedRequest, headers: ["Idempotency-Key": "../escape"]), 400,
            "invalid_process_id")
        await expectError(
            try gateway.post("/api/process/", Self.seedRequest, headers: ["Origin": "http://evil.example"]), 403,
            "forbidden")
        await expectError(try gateway.get("/process/proc_000000000000/status"), 404, "not_found")
        await expectError(try gateway.get("/api/process/proc_000000000000/events"), 404, "not_found")
        await expectError(try gateway.send("POST", "/api/process/proc_000000000000/cancel"), 404, "not_found")
        await expectError(try gateway.get("/api/processes?status=bogus"), 400, "invalid_query")
        await expectError(try gateway.get("/api/processes?since=yesterday"), 400, "invalid_query")
        await expectError(try gateway.get("/no/such/route"), 404, "no_such_route")
        let wrongMethod = try await gateway.get("/api/process/")
        await expectError(wrongMethod, 405, "method_not_allowed")
        #expect(wrongMethod.headers["allow"] == "POST")
        await expectError(try gateway.send("GET", "/api/process/proc_000000000000/cancel"), 405, "method_not_allowed")
        // Nothing refused reached the spool.
        #expect(spool.inboxFiles().isEmpty)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: spool.layout.control).filter { $0 != ".gitkeep" }
                .isEmpty)
        // The gateway is still up after all that.
        #expect(try await gateway.get("/openapi.json").status == 200)
    }

    @Test func idempotencyKeyBothWays() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let gateway = try await GatewayProcess(spool)
        let key = ["Idempotency-Key": "order-42"]
        let first = try await gateway.post("/api/process/", Self.seedRequest, headers: key)
        #expect(first.status == 202, "\(first.text)")
        #expect(first.object?["process_id"] as? String == "order-42")
        #expect(try await gateway.get("/process/order-42/status").object?["status"] as? String == "pending")
        // The same body again while it waits: the same request.
        let again = try await gateway.post("/api/process/", Self.seedRequest, headers: key)
        #expect(again.status == 202)
        #expect(again.object?["process_id"] as? String == "order-42")
        #expect(spool.inboxFiles() == ["order-42.json"])
        // Another body under the same key: a conflict, and the waiting request is untouched.
        let other = #"{"process_type": "premium_subscription", "user_id": "user_999"}"#
        let conflict = try await gateway.post("/api/process/", other, headers: key)
        #expect(conflict.status == 409)
        #expect(conflict.errorCode == "duplicate_process_id")
        #expect(try String(contentsOfFile: "\(spool.layout.inbox)/order-42.json", encoding: .utf8) == Self.seedRequest)

        // After the runner took and ran it, the store answers the same way.
        #expect(try await spool.serveOnce().status == 0)
        let after = try await gateway.post("/api/process/", Self.seedRequest, headers: key)
        #expect(after.status == 202)
        #expect(after.object?["status"] as? String == "success")
        #expect(spool.inboxFiles().isEmpty)
        #expect(try await gateway.post("/api/process/", other, headers: key).errorCode == "duplicate_process_id")
        #expect(spool.status("order-42")?.inputs?["user_id"] == .string("user_123"))
    }

    @Test func hundredConcurrentPostsAllSucceed() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "quick.yaml",
            """
            inputs:
              n: {type: integer, required: true}
            tasks:
              - name: first
                sleep: 10ms
              - name: second
                mode: async
                sleep: 10ms
              - name: third
                sleep: 10ms
            """)
        let runner = try spool.start(["serve", "--rescan", "200ms"])
        try await runner.stopping(with: SIGTERM) {
            let gateway = try await GatewayProcess(spool)

            let count = 100
            // All at once: each request does its blocking socket I/O on a thread of its own.
            let results = await withTaskGroup(of: Result<HTTPReply, any Error>.self) { group in
                for index in 0..<count {
                    group.addTask {
                        do {
                            return .success(
                                try await gateway.post("/api/process/", #"{"process_type": "quick", "n": \#(index)}"#))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == count)
            var ids = Set<String>()
            for result in results {
                let reply = try result.get()
                #expect(reply.status == 202, "\(reply.text)")
                if let id = reply.object?["process_id"] as? String { ids.insert(id) }
            }
            #expect(ids.count == count)
            let ended = await spool.eventually(timeout: 120) {
                ids.allSatisfy { spool.status($0)?.status.isFinal == true }
            }
            #expect(ended)
            #expect(ids.allSatisfy { spool.status($0)?.status == .success })
            let listed =
                try await gateway.get("/api/processes?type=quick&status=success&limit=1000").object?["processes"]
                as? [Any]
            #expect(listed?.count == count)
        }
    }

    @Test func cancelThroughTheAPIReachesTheRunner() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "slow.yaml",
            """
            tasks:
              - name: wait
                sleep: 60s
            """)
        // --grace 1s: the retried process still runs at the end, and the stop need not wait for it.
        let runner = try spool.start(["serve", "--rescan", "100ms", "--grace", "1s"])
        try await runner.stopping(with: SIGTERM) {
            let gateway = try await GatewayProcess(spool)
            let id = try #require(
                try await gateway.post("/api/process/", #"{"process_type": "slow"}"#).object?["process_id"] as? String)
            #expect(await spool.eventually { spool.status(id)?.status == .running })
            let reply = try await gateway.send("POST", "/api/process/\(id)/cancel")
            #expect(reply.status == 202, "\(reply.text)")
            #expect(reply.object?["action"] as? String == "cancel")
            let status = try await Self.waitForEnd(gateway, id, timeout: 60)
            #expect(status["status"] as? String == "cancelled")
            let retry = try await gateway.send("POST", "/api/process/\(id)/retry")
            #expect(retry.status == 202)
            #expect(await spool.eventually { spool.status(id)?.status == .running })
        }
    }

    @Test func healthFollowsTheRunner() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let gateway = try await GatewayProcess(spool)
        let none = try await gateway.get("/healthz")
        #expect(none.status == 503)
        #expect((none.object?["reason"] as? String)?.contains("runner.json") == true, "\(none.text)")
        let runner = try spool.start(["serve"])
        #expect(await spool.eventually { (try? await gateway.get("/healthz").status) == 200 })
        runner.signal(SIGTERM)
        #expect(await runner.wait().status == 0)
        let after = try await gateway.get("/healthz")
        #expect(after.status == 503)
        #expect((after.object?["reason"] as? String)?.contains("stopped") == true, "\(after.text)")
    }

    @Test func logRouteServesOnlyFilesUnderTheProcessLogDirectory() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        try spool.drop("seed_1", Self.seedRequest)
        #expect(try await spool.serveOnce().status == 0)
        // Something secret outside logs/, and ways to reach it planted inside.
        let secret = spool.root.appendingPathComponent("secret.log").path
        try "top secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let logs = spool.layout.logDirectory("seed_1")
        #expect(symlink(secret, "\(logs)/planted.log") == 0)
        #expect(symlink(spool.root.path, "\(spool.layout.logs)/evil") == 0)
        // A big log: served from its end, capped.
        let big = String(repeating: "0123456789abcdef\n", count: 200_000) + "THE END\n"
        try big.write(toFile: "\(logs)/big.1.log", atomically: true, encoding: .utf8)

        let gateway = try await GatewayProcess(spool)
        let log = try await gateway.get("/ui/process/seed_1/logs/validate_user.1.log")
        #expect(log.status == 200)
        #expect(log.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(log.text.contains("user_123 is valid"))
        let capped = try await gateway.get("/ui/process/seed_1/logs/big.1.log")
        #expect(capped.status == 200)
        #expect(capped.body.count < 1024 * 1024 + 300)
        #expect(capped.text.hasSuffix("THE END\n"))
        #expect(capped.text.hasPrefix("[spoolrunner-http: the first"))

        for path in [
            "/ui/process/seed_1/logs/../../../secret.log",
            "/ui/process/seed_1/logs/..%2F..%2F..%2Fsecret.log",
            "/ui/process/seed_1/logs/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.log",
            "/ui/process/seed_1/logs/..%5C..%5Csecret.log",
            "/ui/process/seed_1/logs/%2E%2E",
            "/ui/process/seed_1%2Flogs/validate_user.1.log",
            "/ui/process/..%2Fseed_1/logs/validate_user.1.log",
            "/ui/process/seed_1/logs/planted.log",
            "/ui/process/evil/logs/secret.log",
            "/ui/process/seed_1/logs/validate_user.1.log%00.txt",
            "/ui/process/seed_1/logs/.hidden.log",
        ] {
            let reply = try await gateway.get(path)
            #expect(reply.status == 404, "\(path) → \(reply.status) \(reply.text.prefix(200))")
            #expect(!reply.text.contains("top secret"), "\(path)")
        }
        // The process page lists the real logs and not the planted symlink.
        let page = try await gateway.get("/ui/process/seed_1").text
        #expect(page.contains("validate_user.1.log"))
        #expect(!page.contains("planted.log"))
    }
}

/// The process page's timeline has one bar per attempt, each with its outcome and its own log.
@Suite(.endToEnd) struct GatewayTimelineTests {
    @Test func aRetriedTaskShowsOneBarPerAttempt() async throws {
        let spool = try TemporarySpool()
        try spool.script(
            "flaky.sh",
            """
            #!/bin/sh
            if [ "$SPOOL_ATTEMPT" -ge 2 ]; then echo "attempt $SPOOL_ATTEMPT works"; exit 0; fi
            echo "attempt $SPOOL_ATTEMPT fails" >&2
            exit 1
            """)
        try spool.define(
            "flaky.yaml",
            """
            tasks:
              - name: flaky
                run: ["scripts/flaky.sh"]
                retry: {max_attempts: 3, backoff: 100ms, max_backoff: 100ms}
              - name: after
                sleep: 10ms
            """)
        try spool.drop("flaky_1", #"{"process_type": "flaky"}"#)
        #expect(try await spool.serveOnce().status == 0)
        #expect(spool.status("flaky_1")?.status == .success)
        let gateway = try await GatewayProcess(spool)
        let page = try await gateway.get("/ui/process/flaky_1").text
        #expect(page.contains(#"<rect class="bar bar-retrying" data-task="flaky" data-attempt="1""#), "\(page)")
        #expect(page.contains(#"<rect class="bar bar-success" data-task="flaky" data-attempt="2""#))
        #expect(page.contains(#"<rect class="bar bar-success" data-task="after" data-attempt="1""#))
        #expect(page.components(separatedBy: "<rect class=\"bar ").count - 1 == 3)
        #expect(page.contains("flaky.1.log") && page.contains("flaky.2.log"))
        #expect(try await gateway.get("/ui/process/flaky_1/logs/flaky.1.log").text.contains("attempt 1 fails"))
        // The list keeps the filters it was asked for.
        let list = try await gateway.get("/?since=2h&status=success").text
        #expect(list.contains(#"name="since" value="2h""#))
        #expect(list.contains("<option selected>success</option>"))
        #expect(list.contains(#"data-process-id="flaky_1""#))
    }
}
