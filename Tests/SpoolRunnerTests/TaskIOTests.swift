import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner

/// SPEC §5 "What a task sees": templates, environment, standard input, working directory, the
/// `output` taken from the last stdout line, and the per-attempt log files.
@Suite(.endToEnd) struct TaskIOTests {
    /// A script that writes its argv, NUL-separated, to `argv.<task>` in the work directory.
    static let argvScript = """
        #!/bin/sh
        printf '%s\\0' "$@" > "$SPOOL_WORK_DIR/argv.$SPOOL_TASK_NAME"
        """

    static func argv(_ spool: TemporarySpool, _ id: String, task: String) throws -> [String] {
        let data = try #require(
            FileManager.default.contents(atPath: "\(spool.layout.workDirectory(id))/argv.\(task)"),
            "argv.\(task) not written")
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    static func runOne(
        _ yaml: String, request: String = #"{"process_type": "io"}"#, environment: [String: String] = [:],
        prepare: (TemporarySpool) throws -> Void = { _ in }
    ) async throws -> (TemporarySpool, StatusDocument) {
        let spool = try TemporarySpool()
        try prepare(spool)
        try spool.define("io.yaml", yaml)
        try spool.drop("p1", request)
        let result = try await spool.serveOnce(environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        return (spool, try #require(spool.status("p1")))
    }

    // MARK: - output

    @Test(arguments: [
        (#"echo "working..."; echo "{\"n\": 1, \"s\": \"x\"}""#, #"{"n": 1, "s": "x"}"#),
        (#"echo "{\"n\": 1}"; echo; echo "   "; echo"#, #"{"n": 1}"#),
        (#"printf "{\"no_newline\": true}""#, #"{"no_newline": true}"#),
        (#"echo "{\"first\": 1}"; echo "{\"second\": {\"nested\": [1, 2]}}""#, #"{"second": {"nested": [1, 2]}}"#),
        (#"echo "{\"n\": 1}"; echo "done""#, "null"),
        (#"echo "[1, 2]""#, "null"),
        (#"echo "\"text\"""#, "null"),
        (#"echo "{\"broken\": ""#, "null"),
        (#"echo "{\"n\": 1}" >&2"#, "null"),
        ("true", "null"),
    ])
    func outputIsTheLastNonEmptyStdoutLineWhenItIsAJSONObject(script: String, expected: String) async throws {
        let escaped = script.replacingOccurrences(of: "'", with: "''")
        let (spool, status) = try await Self.runOne(
            """
            tasks:
              - name: speak
                shell: '\(escaped)'
            """)
        let task = try status.task("speak")
        #expect(task.status == .success)
        let raw = try #require(spool.statusObject("p1")?["tasks"] as? [[String: Any]]).first
        let output = try #require(raw?["output"], "the output key is always present")
        let expectedValue = try JSONSerialization.jsonObject(with: Data(expected.utf8), options: [.fragmentsAllowed])
        #expect(
            NSDictionary(dictionary: ["v": output]).isEqual(to: ["v": expectedValue]),
            "output \(output), expected \(expected)")
    }

    /// U+0000 in an output string: the SQLite store keeps it as JSON writes it (`\u0000`); only
    /// a PostgreSQL store, whose jsonb cannot, fails the task (FleetServeTests).
    @Test func outputWithNULIsKeptOnSQLite() async throws {
        let (_, status) = try await Self.runOne(
            """
            tasks:
              - name: emit
                shell: |
                  cat <<"EOF"
                  {"a": {"b": "x\\u0000y"}}
                  EOF
            """)
        let task = try status.task("emit")
        #expect(task.status == .success)
        #expect(task.output == ["a": .object(["b": .string("x\u{0}y")])])
        #expect(status.status == .success)
    }

    @Test func outputOver64KiBIsNotTaken() async throws {
        let (_, status) = try await Self.runOne(
            """
            tasks:
              - name: big
                shell: 'printf "{\\"big\\": \\""; head -c 70000 /dev/zero | tr "\\\\000" a; printf "\\"}\\n"'
              - name: small
                shell: 'printf "{\\"fits\\": \\""; head -c 60000 /dev/zero | tr "\\\\000" b; printf "\\"}\\n"'
            """)
        #expect(try status.task("big").status == .success)
        #expect(try status.task("big").output == nil)
        let small = try status.task("small")
        #expect(small.output?["fits"]?.templateText.count == 60000)
    }

    @Test func upstreamOutputReachesADependentTask() async throws {
        let (spool, status) = try await Self.runOne(
            """
            tasks:
              - name: first
                shell: 'echo "{\\"token\\": \\"abc 123\\", \\"n\\": 5, \\"obj\\": {\\"k\\": \\"v\\"}, \\"list\\": [1, \\"two\\"]}"'
              - name: second
                run: ["scripts/argv.sh", "{{tasks.first.output.token}}", "n={{tasks.first.output.n}}", "{{tasks.first.output.obj}}", "{{tasks.first.output.list}}"]
              - name: third
                shell: 'printf "%s" "$TOKEN" > token.txt; cat > stdin.json'
                env: {TOKEN: "{{tasks.first.output.token}}"}
            """, prepare: { try $0.script("argv.sh", Self.argvScript) })
        #expect(
            status.status == .success,
            "\(status.tasks.map { "\($0.taskName) \($0.status) \(String(describing: $0.error))" })")
        let argv = try Self.argv(spool, "p1", task: "second")
        #expect(argv.count == 4)
        #expect(argv.first == "abc 123")
        #expect(argv.dropFirst().first == "n=5")
        let object = try JSONDecoder().decode(JSONValue.self, from: Data(argv[2].utf8))
        #expect(object == .object(["k": .string("v")]))
        let list = try JSONDecoder().decode(JSONValue.self, from: Data(argv[3].utf8))
        #expect(list == .array([.integer(1), .string("two")]))
        #expect(spool.workFile("p1", "token.txt") == "abc 123")

        // Standard input: the process, its inputs and the outputs of the tasks that succeeded.
        let stdin = try #require(TemporarySpool.jsonObject(atPath: spool.layout.workDirectory("p1") + "/stdin.json"))
        let tasks = try #require(stdin["tasks"] as? [String: Any])
        #expect(Set(tasks.keys) == ["first", "second"])
        let first = try #require((tasks["first"] as? [String: Any])?["output"] as? [String: Any])
        #expect(first["token"] as? String == "abc 123")
        #expect(((tasks["second"] as? [String: Any])?["output"]) is NSNull)
    }

    @Test func missingUpstreamOutputKeyFailsTheTaskClearly() async throws {
        let (spool, status) = try await Self.runOne(
            """
            tasks:
              - name: first
                shell: 'echo "{\\"other\\": 1}"'
              - name: second
                run: ["scripts/argv.sh", "{{tasks.first.output.token}}"]
            """, prepare: { try $0.script("argv.sh", Self.argvScript) })
        #expect(status.status == .failed)
        let second = try status.task("second")
        #expect(second.status == .failed)
        let error = try #require(second.error)
        #expect(error.message.contains("token"), "\(error)")
        #expect(
            !FileManager.default.fileExists(atPath: "\(spool.layout.workDirectory("p1"))/argv.second"),
            "the task ran with a missing value")
    }

    // MARK: - standard input, environment, working directory

    static let inputsDefinition = """
        inputs:
          name: {type: string, required: true}
          count: {type: integer, default: 3}
          flags: {type: array, default: ["a", "b"]}
          on: {type: boolean, default: true}
        tasks:
        """

    @Test func standardInputIsTheProcessAsJSON() async throws {
        let (spool, status) = try await Self.runOne(
            Self.inputsDefinition + """

                  - name: read
                    shell: 'cat > stdin.json'
                """, request: #"{"process_type": "io", "name": "Zoë \"Z\""}"#)
        #expect(status.status == .success)
        let stdin = try #require(TemporarySpool.jsonObject(atPath: spool.layout.workDirectory("p1") + "/stdin.json"))
        #expect(Set(stdin.keys) == ["process_id", "process_type", "inputs", "tasks"])
        #expect(stdin["process_id"] as? String == "p1")
        #expect(stdin["process_type"] as? String == "io")
        let inputs = try #require(stdin["inputs"] as? [String: Any])
        #expect(inputs["name"] as? String == "Zoë \"Z\"")
        #expect(inputs["count"] as? Int == 3)
        #expect(inputs["flags"] as? [String] == ["a", "b"])
        #expect(inputs["on"] as? Bool == true)
        #expect((stdin["tasks"] as? [String: Any])?.isEmpty == true)
    }

    /// Standard input arrives whole whatever its size (a pipe for small documents, a file for
    /// large ones), and a task that never reads it is not held up.
    @Test(arguments: [10, 60_000, 61_500, 66_000, 120_000])
    func standardInputArrivesWholeAtAnySize(size: Int) async throws {
        let big = String(repeating: "x", count: size)
        let body = String(
            decoding: try JSONSerialization.data(withJSONObject: ["process_type": "io", "blob": big]), as: UTF8.self)
        let (spool, status) = try await Self.runOne(
            """
            additional_inputs: true
            tasks:
              - name: ignore
                mode: async
                shell: 'true'
              - name: read
                shell: 'cat > stdin.json'
            """, request: body)
        #expect(status.status == .success)
        let stdin = try #require(TemporarySpool.jsonObject(atPath: spool.layout.workDirectory("p1") + "/stdin.json"))
        #expect(((stdin["inputs"] as? [String: Any])?["blob"] as? String)?.count == size)
    }

    /// A request may be up to 1 MiB (SPEC §3), so one input may be larger than Linux's limit on a
    /// single environment string (128 KiB, MAX_ARG_STRLEN). Such an accepted request must still
    /// run: its tasks get the value on standard input; they cannot fail to start.
    @Test func inputLargerThanAnEnvironmentStringStillRuns() async throws {
        let big = String(repeating: "y", count: 300_000)
        let body = String(
            decoding: try JSONSerialization.data(withJSONObject: ["process_type": "io", "blob": big]), as: UTF8.self)
        let (spool, status) = try await Self.runOne(
            """
            additional_inputs: true
            tasks:
              - name: read
                shell: 'cat > stdin.json'
            """, request: body)
        let read = try status.task("read")
        #expect(read.error?.code != "spawn_failed", "\(String(describing: read.error))")
        #expect(status.status == .success)
        let stdin = TemporarySpool.jsonObject(atPath: spool.layout.workDirectory("p1") + "/stdin.json")
        #expect(((stdin?["inputs"] as? [String: Any])?["blob"] as? String)?.count == big.count)
    }

    @Test func environmentIsMinimalAndTheRunnersOwnIsNotPassedOn() async throws {
        let (spool, status) = try await Self.runOne(
            Self.inputsDefinition + """

                  - name: dump
                    run: ["/usr/bin/env"]
                    env: {MY_VAR: "for {{inputs.name}}", PLAIN: "plain value"}
                """, request: #"{"process_type": "io", "name": "ada", "count": 7}"#,
            environment: [
                "SPOOLRUNNER_TEST_SECRET": "must-not-leak", "LD_LIBRARY_PATH": "/nowhere", "SPOOL_PROCESS_ID": "forged",
            ])
        #expect(status.status == .success)
        let text = try #require(spool.logText("p1", task: "dump", attempt: 1))
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        #expect(environment["SPOOLRUNNER_TEST_SECRET"] == nil)
        #expect(environment["LD_LIBRARY_PATH"] == nil)
        #expect(!text.contains("must-not-leak"))
        #expect(
            Set(environment.keys) == [
                "PATH", "HOME", "LANG", "TZ",
                "SPOOL_PROCESS_ID", "SPOOL_PROCESS_TYPE", "SPOOL_TASK_NAME", "SPOOL_ATTEMPT", "SPOOL_WORK_DIR",
                "SPOOL_INPUTS",
                "SPOOL_INPUT_NAME", "SPOOL_INPUT_COUNT", "SPOOL_INPUT_FLAGS", "SPOOL_INPUT_ON",
                "MY_VAR", "PLAIN",
            ])
        #expect(environment["SPOOL_PROCESS_ID"] == "p1")
        #expect(environment["SPOOL_PROCESS_TYPE"] == "io")
        #expect(environment["SPOOL_TASK_NAME"] == "dump")
        #expect(environment["SPOOL_ATTEMPT"] == "1")
        #expect(environment["SPOOL_WORK_DIR"] == spool.layout.workDirectory("p1"))
        #expect(environment["SPOOL_INPUT_NAME"] == "ada")
        #expect(environment["SPOOL_INPUT_COUNT"] == "7")
        #expect(environment["SPOOL_INPUT_FLAGS"] == #"["a","b"]"#)
        #expect(environment["SPOOL_INPUT_ON"] == "true")
        #expect(environment["MY_VAR"] == "for ada")
        #expect(environment["PLAIN"] == "plain value")
        let inputs = try JSONDecoder().decode(
            JSONValue.self, from: Data(try #require(environment["SPOOL_INPUTS"]).utf8))
        #expect(
            inputs
                == .object([
                    "name": .string("ada"), "count": .integer(7), "flags": .array([.string("a"), .string("b")]),
                    "on": .bool(true),
                ]))
    }

    @Test func templatesInsertValuesAndNonStringsAsJSON() async throws {
        let (spool, status) = try await Self.runOne(
            Self.inputsDefinition + """

                  - name: show
                    run: ["scripts/argv.sh", "{{process_id}}", "{{work_dir}}", "{{inputs.name}}", "{{inputs.count}}", "{{inputs.flags}}", "{{inputs.on}}", "n={{inputs.count}};f={{inputs.flags}}"]
                """, request: #"{"process_type": "io", "name": "two words"}"#,
            prepare: { try $0.script("argv.sh", Self.argvScript) })
        #expect(status.status == .success)
        #expect(
            try Self.argv(spool, "p1", task: "show") == [
                "p1", spool.layout.workDirectory("p1"), "two words", "3", #"["a","b"]"#, "true", #"n=3;f=["a","b"]"#,
            ])
    }

    @Test func tasksRunInTheProcessWorkDirectory() async throws {
        let (spool, status) = try await Self.runOne(
            """
            tasks:
              - name: where
                run: ["/bin/pwd"]
              - name: write
                shell: 'echo shared > shared.txt'
              - name: read
                shell: 'cat shared.txt'
            """)
        #expect(status.status == .success)
        #expect(
            spool.logText("p1", task: "where", attempt: 1)?.trimmingCharacters(in: .whitespacesAndNewlines)
                == spool.layout.workDirectory("p1"))
        #expect(spool.workFile("p1", "shared.txt") == "shared\n")
        #expect(spool.logText("p1", task: "read", attempt: 1)?.contains("shared") == true)
    }

    // MARK: - logs

    @Test func eachAttemptHasItsOwnLogWithStdoutAndStderr() async throws {
        let (spool, status) = try await Self.runOne(
            """
            tasks:
              - name: noisy
                shell: 'echo "out $SPOOL_ATTEMPT"; echo "err $SPOOL_ATTEMPT" >&2; [ "$SPOOL_ATTEMPT" -ge 2 ]'
                retry: {max_attempts: 2, backoff: 20ms}
            """)
        #expect(status.status == .success)
        let logs = try FileManager.default.contentsOfDirectory(atPath: spool.layout.logDirectory("p1")).sorted()
        #expect(logs == ["noisy.1.log", "noisy.2.log"])
        for attempt in 1...2 {
            let log = try #require(spool.logText("p1", task: "noisy", attempt: attempt))
            #expect(log.contains("out \(attempt)\n"))
            #expect(log.contains("err \(attempt)\n"))
        }
    }
}
