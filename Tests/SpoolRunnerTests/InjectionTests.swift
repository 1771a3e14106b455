import Foundation
import Testing

@testable import SpoolRunner

/// SPEC §5: a template value is one argv element, never split, never passed through a shell,
/// never expanded a second time; `shell:` gets values through the environment only.
///
/// Each payload tries to create a marker file (and to delete a canary directory); both live in
/// the test's own temporary directory, so a failure cannot harm anything outside it.
@Suite(.endToEnd) struct InjectionTests {
    static let argvScript = """
        #!/bin/sh
        printf '%s\\0' "$@" > "$SPOOL_WORK_DIR/argv.$SPOOL_TASK_NAME"
        """

    static let definition = """
        inputs:
          v: {type: string, required: true}
        tasks:
          - name: script
            run: ["scripts/argv.sh", "{{inputs.v}}", "prefix-{{inputs.v}}-suffix"]
          - name: printf
            run: ["/usr/bin/printf", "%s\\n", "{{inputs.v}}"]
          - name: through_env
            shell: 'printf "%s" "$SPOOL_INPUT_V" > input_value; printf "%s" "$V" > env_value'
            env: {V: "{{inputs.v}}"}
          - name: echo_back
            shell: 'printf "{\\"v\\": %s}\\n" "$(printf "%s" "$SPOOL_INPUTS" | sed "s/^{\\"v\\"://; s/}$//")"'
          - name: from_output
            run: ["scripts/argv.sh", "{{tasks.echo_back.output.v}}"]
        """

    /// `MARKER` and `CANARY` are replaced by paths under the test's temporary directory.
    static let payloads = [
        "$(touch MARKER); rm -rf CANARY",
        "`touch MARKER`",
        "x; touch MARKER",
        "x && touch MARKER || touch MARKER",
        "x | touch MARKER",
        "> MARKER",
        "x\ntouch MARKER\n",
        "'; touch MARKER; echo '",
        "\"; touch MARKER; echo \"",
        "$(touch MARKER)\" \"$(rm -rf CANARY)",
        "{{process_id}} {{inputs.v}} MARKER",
        "${HOME} $SPOOL_PROCESS_ID * ~ MARKER",
        "--help MARKER",
        "-rf CANARY",
        "  leading and trailing spaces MARKER  ",
        "tab\there\\back\\slash MARKER",
        "ünïcødé → 🚀 MARKER",
        "--output=MARKER",
        "-o MARKER",
        "-",
        "--",
        "x\nPATH=/nonexistent\nSPOOL_PROCESS_ID=evil MARKER",
        "$SPOOL_INPUT_V $(touch MARKER) ${V}",
        "%s%n%x MARKER",
    ]

    @Test(arguments: payloads)
    func inputReachesTasksAsOneUnchangedValue(payload: String) async throws {
        let spool = try TemporarySpool()
        let marker = spool.root.appendingPathComponent("pwned-marker").path
        let canary = spool.root.appendingPathComponent("canary").path
        try FileManager.default.createDirectory(atPath: canary, withIntermediateDirectories: true)
        let value = payload.replacingOccurrences(of: "MARKER", with: marker).replacingOccurrences(
            of: "CANARY", with: canary)

        try spool.script("argv.sh", Self.argvScript)
        try spool.define("echo.yaml", Self.definition)
        let body = try JSONSerialization.data(withJSONObject: ["process_type": "echo", "v": value])
        try spool.drop("p1", String(decoding: body, as: UTF8.self))
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")

        let status = try #require(spool.status("p1"))
        #expect(
            status.status == .success,
            "\(status.tasks.map { "\($0.taskName): \($0.status) \(String(describing: $0.error))" })")
        #expect(status.inputs?["v"] == .string(value))

        // One argv element each, exactly the value.
        #expect(try TaskIOTests.argv(spool, "p1", task: "script") == [value, "prefix-\(value)-suffix"])
        #expect(spool.logText("p1", task: "printf", attempt: 1) == value + "\n")
        #expect(spool.workFile("p1", "input_value") == value)
        #expect(spool.workFile("p1", "env_value") == value)
        // Through a task's output and a template: still one unchanged element.
        #expect(try status.task("echo_back").output?["v"] == .string(value))
        #expect(try TaskIOTests.argv(spool, "p1", task: "from_output") == [value])

        // Nothing was executed.
        #expect(!FileManager.default.fileExists(atPath: marker), "the payload ran: \(marker) exists")
        #expect(FileManager.default.fileExists(atPath: canary), "the payload ran: \(canary) was removed")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: spool.layout.workDirectory("p1")).allSatisfy {
                !$0.contains("MARKER") && !$0.hasPrefix(">")
            })
    }

    @Test func processIDAndTypeCannotCarryShellSyntax() async throws {
        // Names are validated before anything runs: such a file is rejected, not executed.
        let spool = try TemporarySpool()
        try spool.define("echo.yaml", Self.definition)
        let marker = spool.root.appendingPathComponent("pwned-by-name").path
        try spool.writeInbox(
            "x;touch \(marker.replacingOccurrences(of: "/", with: "_")).json", #"{"process_type": "echo", "v": "a"}"#)
        try spool.drop("p2", #"{"process_type": "$(touch \#(marker))", "v": "a"}"#)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try spool.rejectionRows().map(\.code).sorted() == ["invalid_process_id", "unknown_process_type"])
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func templatesInsideShellAreRefusedAtLoad() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "unsafe.yaml",
            """
            inputs:
              v: {type: string, required: true}
            tasks:
              - name: bad
                shell: 'echo {{inputs.v}}'
            """)
        let validate = try await spool.run(["validate", "--definitions", spool.definitions.path], spoolOptions: false)
        #expect(validate.status == 1)
        #expect(validate.standardOutput.contains("unsafe.yaml:5:"), "\(validate.standardOutput)")

        try spool.drop("p1", #"{"process_type": "unsafe", "v": "$(id)"}"#)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("p1")?.status == .rejected)
        #expect(spool.status("p1")?.error?.code == "unknown_process_type")
    }

    /// An option-like value (`-rf`, `--output=/etc/x`) reaches a program as one element, but a
    /// program that parses options would still read it as one. Two ways to keep it out, both
    /// in the README: `--` before the value in `run:`, or a pattern that refuses a leading `-`.
    @Test(arguments: ["-rf", "--output=/etc/x", "-o/etc/passwd"])
    func optionLikeValuesStayOperandsAfterDoubleDash(value: String) async throws {
        let spool = try TemporarySpool()
        try spool.script(
            "opts.sh",
            """
            #!/bin/sh
            # Like most tools: options first (getopts), then operands.
            out=none; recursive=no
            while getopts "rfo:-:" opt; do
              case $opt in r) recursive=yes ;; o) out=$OPTARG ;; -) out=$OPTARG ;; *) ;; esac
            done
            shift $((OPTIND - 1))
            printf '%s|%s|%s' "$recursive" "$out" "$*" > "$SPOOL_WORK_DIR/$SPOOL_TASK_NAME.seen"
            """)
        try spool.define(
            "opts.yaml",
            """
            inputs:
              name: {type: string, required: true}
              safe: {type: string, pattern: "^[^-]"}
            tasks:
              - name: unguarded
                run: ["scripts/opts.sh", "{{inputs.name}}"]
              - name: guarded
                run: ["scripts/opts.sh", "--", "{{inputs.name}}"]
            """)
        try spool.drop(
            "p1",
            String(
                decoding: try JSONSerialization.data(withJSONObject: ["process_type": "opts", "name": value]),
                as: UTF8.self))
        try spool.drop(
            "p2",
            String(
                decoding: try JSONSerialization.data(withJSONObject: [
                    "process_type": "opts", "name": "ok", "safe": value,
                ]), as: UTF8.self))
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(spool.status("p1")?.status == .success)
        // Without `--` the program takes the value for options: the reason for the guidance.
        #expect(spool.workFile("p1", "unguarded.seen") != "no|none|\(value)")
        // After `--` it is an operand, whatever it looks like.
        #expect(spool.workFile("p1", "guarded.seen") == "no|none|\(value)")
        // A pattern keeps it out of the process altogether.
        #expect(spool.status("p2")?.status == .rejected)
        #expect(spool.status("p2")?.error?.code == "invalid_inputs")
    }
}
