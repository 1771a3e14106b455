import Foundation
import Testing

@testable import ProcessDefinitions
@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 part 2: the JSON Schemas against the files they describe, the loader and the binary.
@Suite(.endToEnd) struct SchemaTests {
    static func schemaPath(_ schema: JSONSchema) -> String { Repository.path("schemas/\(schema.fileName)") }

    static func fixtures(_ kind: String) throws -> [String] {
        let directory = Repository.path("Tests/ProcessDefinitionsTests/Fixtures/\(kind)")
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(directory)/\($0)" }
    }

    /// Invalid fixtures whose fault only the loader can see (the schema's `$comment` lists these
    /// rules): they must pass the schema, every other invalid fixture must fail it.
    static let loaderOnly: Set<String> = [
        "bad_cron", "cycle", "duplicate_task_name", "duplicate_yaml_key", "input_default_not_in_enum",
        "input_default_wrong_type", "input_enum_wrong_type", "input_invalid_pattern", "main_needs_on_failure_task",
        "max_backoff_below_backoff", "on_failure_needs_main_task", "output_of_async_task", "process_type_mismatch",
        "schedule_duplicate_name", "schedule_missing_name", "schedule_unknown_timezone", "template_in_program",
        "template_in_shell", "unclosed_template",
        "undeclared_input_template", "unknown_dependency", "unknown_template_reference",
    ]

    @Test(arguments: JSONSchema.allCases)
    func binaryPrintsTheCommittedSchemaByteForByte(schema: JSONSchema) async throws {
        let committed = try #require(FileManager.default.contents(atPath: Self.schemaPath(schema)))
        #expect(
            Data(schema.text.utf8) == committed, "run scripts/gen-docs.sh: the embedded \(schema.fileName) is stale")
        let printed = try await Shell.run(TemporarySpool.binary, ["schema", schema.rawValue])
        #expect(printed.status == 0)
        #expect(Data(printed.standardOutput.utf8) == committed)
        // The copy the shipped definitions' modeline points at.
        if schema == .definition {
            #expect(
                FileManager.default.contents(atPath: Repository.path("definitions/definition.schema.json")) == committed
            )
        }
    }

    @Test func unknownSchemaIsAUsageError() async throws {
        let result = try await Shell.run(TemporarySpool.binary, ["schema", "nosuch"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("request"), "\(result.standardError)")
    }

    @Test func everyShippedDefinitionAndValidFixtureValidates() async throws {
        guard await SchemaValidator.available() else { return }
        let shipped = try FileManager.default.contentsOfDirectory(atPath: Repository.path("definitions"))
            .filter { $0.hasSuffix(".yaml") }.map { Repository.path("definitions/\($0)") }
        #expect(shipped.count >= 2)
        let errors = try await SchemaValidator.errors(
            schema: Self.schemaPath(.definition), files: shipped + (try Self.fixtures("valid")))
        for (file, problems) in errors.sorted(by: { $0.key < $1.key }) {
            #expect(problems.isEmpty, "\(file): \(problems)")
        }
        for file in shipped {
            let first = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").first
            #expect(first == "# yaml-language-server: $schema=./definition.schema.json", "\(file)")
        }
    }

    @Test func invalidFixturesFailTheSchemaUnlessOnlyTheLoaderCanTell() async throws {
        guard await SchemaValidator.available() else { return }
        let files = try Self.fixtures("invalid")
        let errors = try await SchemaValidator.errors(schema: Self.schemaPath(.definition), files: files)
        for file in files {
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let problems = errors[file] ?? []
            if Self.loaderOnly.contains(name) {
                #expect(problems.isEmpty, "\(name) is listed as loader-only but the schema rejects it: \(problems)")
            } else {
                #expect(!problems.isEmpty, "\(name): the schema accepts a definition the loader rejects")
            }
            // And the loader rejects every one of them.
            let directory = NSTemporaryDirectory() + "schema-fixture-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try FileManager.default.copyItem(
                atPath: file, toPath: "\(directory)/\((file as NSString).lastPathComponent)")
            #expect(!DefinitionCatalog.load(directory: directory).errors.isEmpty, "\(name) loads")
        }
    }

    /// The keys each object level allows are the loader's, no more, no fewer.
    @Test func schemaKeySetsEqualTheLoaders() throws {
        let data = try #require(FileManager.default.contents(atPath: Self.schemaPath(.definition)))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let definitions = try #require(schema["definitions"] as? [String: Any])
        func keys(_ object: Any?) -> Set<String> {
            Set(((object as? [String: Any])?["properties"] as? [String: Any])?.keys.map { $0 } ?? [])
        }
        let task = definitions["task"] as? [String: Any]
        let retry = (task?["properties"] as? [String: Any])?["retry"]
        #expect(keys(schema) == Set(DefinitionReader.processKeys))
        #expect(keys(definitions["input"]) == Set(DefinitionReader.inputKeys))
        #expect(keys(task) == Set(DefinitionReader.taskKeys))
        #expect(keys(retry) == Set(DefinitionReader.retryKeys))
        #expect(keys(definitions["scheduleEntry"]) == Set(DefinitionReader.scheduleKeys))
        let typeEnum =
            ((definitions["input"] as? [String: Any])?["properties"] as? [String: Any])?["type"] as? [String: Any]
        #expect(Set(typeEnum?["enum"] as? [String] ?? []) == Set(DefinitionReader.inputKinds))
        // Every definition object is closed.
        for (name, value) in [
            ("root", schema), ("input", definitions["input"]), ("task", task), ("retry", retry),
            ("scheduleEntry", definitions["scheduleEntry"]),
        ] {
            #expect((value as? [String: Any])?["additionalProperties"] as? Bool == false, "\(name)")
        }
    }

    @Test func theSeedRequestValidates() async throws {
        guard await SchemaValidator.available() else { return }
        let directory = NSTemporaryDirectory() + "schema-request-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seed = "\(directory)/seed.json"
        try #"{"process_type": "premium_subscription", "user_id": "user_123"}"#.write(
            toFile: seed, atomically: true, encoding: .utf8)
        let noType = "\(directory)/no_type.json"
        try #"{"user_id": "user_123"}"#.write(toFile: noType, atomically: true, encoding: .utf8)
        let errors = try await SchemaValidator.errors(schema: Self.schemaPath(.request), files: [seed, noType])
        #expect(errors[seed] == [])
        #expect(errors[noType]?.isEmpty == false)
    }

    /// Status files as the runner writes them, in every final state and while a task waits for
    /// its retry.
    @Test func statusFilesOfEveryOutcomeValidate() async throws {
        guard await SchemaValidator.available() else { return }
        let spool = try TemporarySpool()
        try spool.define(
            "ok.yaml",
            "inputs:\n  n: {type: integer, default: 1}\ntasks:\n  - name: a\n    shell: 'echo \"{\\\"n\\\": 1}\"'\n  - name: b\n    mode: async\n    sleep: 10ms\n"
        )
        try spool.define(
            "bad.yaml", "tasks:\n  - name: a\n    shell: 'exit 3'\non_failure:\n  - name: tell\n    shell: 'true'\n")
        try spool.define("slow.yaml", "tasks:\n  - name: a\n    shell: 'sleep 30'\n")
        try spool.define(
            "again.yaml",
            "tasks:\n  - name: a\n    shell: 'exit 1'\n    retry: {max_attempts: 3, backoff: 1h, max_backoff: 1h}\n")
        let runner = try spool.start(["serve", "--rescan", "100ms"])
        try await runner.stopping(with: SIGTERM, timeout: 30) {
            try spool.drop("s-ok", #"{"process_type": "ok"}"#)
            try spool.drop("s-bad", #"{"process_type": "bad"}"#)
            try spool.drop("s-slow", #"{"process_type": "slow"}"#)
            try spool.drop("s-again", #"{"process_type": "again"}"#)
            try spool.drop("s-rejected", #"{"process_type": "ok", "n": "one"}"#)
            try spool.drop("s-unknown", #"{"process_type": "nosuch"}"#)
            #expect(await spool.eventually { spool.status("s-slow")?.tasks.first?.status == .running })
            #expect(try await spool.run(["cancel", "s-slow"]).status == 0)
            #expect(
                await spool.eventually {
                    spool.status("s-ok")?.status == .success && spool.status("s-bad")?.status == .failed
                        && spool.status("s-slow")?.status == .cancelled
                        && spool.status("s-again")?.tasks.first?.status == .retrying
                        && spool.status("s-rejected")?.status == .rejected
                        && spool.status("s-unknown")?.status == .rejected
                },
                "\(["s-ok", "s-bad", "s-slow", "s-again", "s-rejected", "s-unknown"].map { "\($0): \(String(describing: spool.status($0)?.status)) \(spool.status($0)?.tasks.map(\.status) ?? [])" })"
            )
            let ids = ["s-ok", "s-bad", "s-slow", "s-again", "s-rejected", "s-unknown"]
            let errors = try await SchemaValidator.errors(
                schema: Self.schemaPath(.status), files: ids.map(spool.layout.statusFile))
            for id in ids {
                #expect(
                    errors[spool.layout.statusFile(id)] == [], "\(id): \(errors[spool.layout.statusFile(id)] ?? [])")
            }
            // A status file the schema must refuse: the check is not vacuous.
            let broken = spool.root.appendingPathComponent("broken.json").path
            try #"{"process_id": "x", "status": "done"}"#.write(toFile: broken, atomically: true, encoding: .utf8)
            #expect(
                try await SchemaValidator.errors(schema: Self.schemaPath(.status), files: [broken])[broken]?.isEmpty
                    == false)
        }
    }
}
