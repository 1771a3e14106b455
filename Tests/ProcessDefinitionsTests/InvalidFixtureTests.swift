import ProcessDefinitions
import Testing

/// One invalid fixture and the single error it must produce.
struct InvalidFixture: Sendable, CustomTestStringConvertible {
    var file: String
    var code: DefinitionError.Code
    var line: Int
    var column: Int
    var key: String?

    init(_ file: String, _ code: DefinitionError.Code, _ line: Int, _ column: Int, _ key: String? = nil) {
        self.file = file
        self.code = code
        self.line = line
        self.column = column
        self.key = key
    }

    var testDescription: String { file }
}

/// Expected error of each `Fixtures/invalid/*.yaml` (except `several_errors.yaml`).
let invalidFixtures: [InvalidFixture] = [
    InvalidFixture("additional_inputs_not_bool", .invalidValue, 1, 20, "additional_inputs"),
    InvalidFixture("bad_concurrency", .invalidValue, 1, 14, "concurrency"),
    InvalidFixture("bad_cron", .invalidCron, 2, 11, "schedule[0].cron"),
    InvalidFixture("bad_mode", .invalidValue, 3, 11, "tasks[0].mode"),
    InvalidFixture("bad_sleep", .invalidDuration, 3, 12, "tasks[0].sleep"),
    InvalidFixture("cycle", .cycle, 3, 12, "tasks[0].needs"),
    InvalidFixture("duplicate_task_name", .duplicateName, 5, 11, "on_failure[0].name"),
    InvalidFixture("duplicate_yaml_key", .malformedYAML, 2, 5),
    InvalidFixture("duration_without_unit", .invalidDuration, 1, 10, "timeout"),
    InvalidFixture("empty_file", .notAMapping, 1, 1),
    InvalidFixture("empty_run", .invalidValue, 3, 10, "tasks[0].run"),
    InvalidFixture("empty_tasks", .invalidValue, 2, 8, "tasks"),
    InvalidFixture("env_invalid_name", .invalidValue, 5, 7, "tasks[0].env.1BAD"),
    InvalidFixture("env_not_mapping", .notAMapping, 4, 10, "tasks[0].env"),
    InvalidFixture("env_reserved_name", .invalidValue, 5, 7, "tasks[0].env.SPOOL_PROCESS_ID"),
    InvalidFixture("idempotent_yes", .invalidValue, 4, 17, "tasks[0].idempotent"),
    InvalidFixture("input_bad_name", .invalidValue, 2, 3, "inputs.user-id"),
    InvalidFixture("input_default_not_in_enum", .invalidValue, 2, 58, "inputs.plan.default"),
    InvalidFixture("input_default_wrong_type", .typeMismatch, 4, 14, "inputs.count.default"),
    InvalidFixture("input_enum_wrong_type", .typeMismatch, 4, 21, "inputs.plan.enum[1]"),
    InvalidFixture("input_invalid_pattern", .invalidPattern, 2, 33, "inputs.code.pattern"),
    InvalidFixture("input_min_on_string", .invalidValue, 2, 24, "inputs.name.min"),
    InvalidFixture("input_missing_type", .missingField, 2, 12, "inputs.user_id"),
    InvalidFixture("input_pattern_on_integer", .invalidValue, 2, 26, "inputs.count.pattern"),
    InvalidFixture("input_unknown_key", .unknownField, 4, 5, "inputs.user_id.requried"),
    InvalidFixture("input_unknown_type", .invalidValue, 2, 19, "inputs.user_id.type"),
    InvalidFixture("inputs_not_mapping", .notAMapping, 1, 9, "inputs"),
    InvalidFixture("invalid_task_name", .invalidValue, 2, 11, "tasks[0].name"),
    InvalidFixture("main_needs_on_failure_task", .unknownDependency, 3, 13, "tasks[0].needs[0]"),
    InvalidFixture("malformed_yaml", .malformedYAML, 4, 1),
    InvalidFixture("max_backoff_below_backoff", .invalidValue, 4, 57, "tasks[0].retry.max_backoff"),
    InvalidFixture("missing_tasks", .missingField, 1, 1, "tasks"),
    InvalidFixture("needs_not_list", .invalidValue, 5, 12, "tasks[1].needs"),
    InvalidFixture("no_action", .actionCount, 2, 5, "tasks[0]"),
    InvalidFixture("not_a_mapping", .notAMapping, 1, 1),
    InvalidFixture("on_failure_needs_main_task", .unknownDependency, 6, 13, "on_failure[0].needs[0]"),
    InvalidFixture("output_of_async_task", .invalidTemplate, 6, 17, "tasks[1].run[1]"),
    InvalidFixture("process_type_mismatch", .typeMismatch, 1, 15, "process_type"),
    InvalidFixture("retry_unknown_key", .unknownField, 4, 13, "tasks[0].retry.attempts"),
    InvalidFixture("retry_zero_attempts", .invalidValue, 5, 21, "tasks[0].retry.max_attempts"),
    InvalidFixture("run_not_list", .invalidValue, 3, 10, "tasks[0].run"),
    InvalidFixture("schedule_inputs_not_mapping", .notAMapping, 3, 13, "schedule[0].inputs"),
    InvalidFixture("schedule_missing_cron", .missingField, 2, 5, "schedule[0]"),
    InvalidFixture("schedule_unknown_timezone", .invalidValue, 3, 15, "schedule[0].timezone"),
    InvalidFixture("schedule_duplicate_name", .duplicateName, 4, 11, "schedule[1].name"),
    InvalidFixture("schedule_missing_name", .missingField, 4, 5, "schedule[1].name"),
    InvalidFixture("schedule_bad_catch_up", .invalidValue, 3, 15, "schedule[0].catch_up"),
    InvalidFixture("schedule_bad_overlap", .invalidValue, 3, 14, "schedule[0].overlap"),
    InvalidFixture("task_missing_name", .missingField, 2, 5, "tasks[0]"),
    InvalidFixture("task_not_mapping", .notAMapping, 4, 5, "tasks[1]"),
    InvalidFixture("template_in_program", .invalidTemplate, 5, 11, "tasks[0].run[0]"),
    InvalidFixture("template_in_shell", .templateInShell, 5, 12, "tasks[0].shell"),
    InvalidFixture("two_actions", .actionCount, 4, 5, "tasks[0].shell"),
    InvalidFixture("unclosed_template", .invalidTemplate, 5, 17, "tasks[0].run[1]"),
    InvalidFixture("undeclared_input_template", .invalidTemplate, 7, 9, "tasks[0].run[1]"),
    InvalidFixture("unknown_dependency", .unknownDependency, 5, 13, "tasks[1].needs[0]"),
    InvalidFixture("unknown_task_key", .unknownField, 4, 5, "tasks[0].retries"),
    InvalidFixture("unknown_template_reference", .invalidTemplate, 5, 17, "tasks[0].run[1]"),
    InvalidFixture("unknown_top_key", .unknownField, 2, 1, "timout"),
]

@Suite("Invalid definition fixtures")
struct InvalidFixtureTests {
    @Test("each invalid fixture gives exactly its error", arguments: invalidFixtures)
    func fixtureError(_ fixture: InvalidFixture) throws {
        let errors = try #require(Fixtures.load("invalid", fixture.file + ".yaml").error).errors
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.code == fixture.code, "\(error)")
        #expect(error.line == fixture.line, "\(error)")
        #expect(error.column == fixture.column, "\(error)")
        #expect(error.key == fixture.key, "\(error)")
        #expect(error.file.hasSuffix("invalid/\(fixture.file).yaml"))
        #expect(error.message.count > 20, "a message should say what is wrong and what is valid")
    }

    @Test func everyInvalidFixtureIsInTheTable() {
        let listed = Set(invalidFixtures.map { $0.file + ".yaml" } + ["several_errors.yaml"])
        #expect(Set(Fixtures.files("invalid")) == listed)
        #expect(invalidFixtures.count >= 30)
    }

    @Test func allErrorsOfAFileAreReported() throws {
        let errors = try #require(Fixtures.load("invalid", "several_errors.yaml").error).errors
        let found = errors.map { "\($0.code) \($0.line ?? 0):\($0.column ?? 0)" }
        #expect(
            found == [
                "unknownField 2:1",
                "invalidDuration 3:10",
                "typeMismatch 5:35",
                "invalidTemplate 8:17",
                "duplicateName 9:11",
                "actionCount 13:5",
                "invalidValue 14:27",
                "unknownDependency 15:13",
            ])
    }

    @Test func messagesSayWhatIsValid() throws {
        func message(_ file: String) throws -> String {
            try #require(Fixtures.load("invalid", file + ".yaml").error?.errors.first).message
        }
        #expect(try message("unknown_task_key").contains("(did you mean 'retry'?)"))
        #expect(try message("unknown_task_key").contains("valid keys: name, run, shell, sleep"))
        #expect(try message("cycle").contains("a -> c -> b -> a"))
        #expect(try message("template_in_shell").contains("$SPOOL_INPUT_USER_ID"))
        #expect(try message("unknown_dependency").contains("(did you mean 'build'?)"))
        #expect(try message("duration_without_unit").contains("250ms"))
        #expect(try message("bad_cron").contains("minute"))
        #expect(try message("bad_cron").contains("0-59"))
        #expect(try message("input_unknown_type").contains("string or integer or number or boolean or object or array"))
        #expect(try message("schedule_unknown_timezone").contains("Europe/Berlin"))
        #expect(try message("schedule_duplicate_name").contains("already used by schedule[0]"))
        #expect(try message("schedule_bad_catch_up").contains("latest or none or all"))
        #expect(try message("output_of_async_task").contains("needs:"))
        #expect(try message("idempotent_yes").contains("true or false"))
    }

    @Test func descriptionIsFileLineColumnKeyMessage() throws {
        let error = try #require(Fixtures.load("invalid", "bad_mode.yaml").error?.errors.first)
        #expect(
            error.description.hasSuffix(
                "bad_mode.yaml:3:11: tasks[0].mode: expected sync or async, got the string \"parallel\""))
    }

    @Test func aBadNameIsReportedOnceNotAgainByTheTasksThatNeedIt() throws {
        let errors = try #require(
            parseDefinition(
                """
                tasks:
                  - name: "bad name"
                    run: [echo]
                  - name: b
                    needs: ["bad name"]
                    run: [echo]
                """
            ).error
        ).errors
        #expect(errors.map(\.code) == [.invalidValue])
    }

    @Test func unknownKeysInMergedMappingsAreReportedWhereWritten() throws {
        let errors = try #require(
            parseDefinition(
                """
                tasks:
                  - &base
                    name: a
                    run: [echo]
                    retires: 2
                  - <<: *base
                    name: b
                """
            ).error
        ).errors
        // Once for the task that writes the typo, once for the task that merges it in.
        #expect(errors.map(\.code) == [.unknownField, .unknownField])
        #expect(errors.map(\.line) == [5, 5])
        #expect(errors.map(\.key) == ["tasks[0].retires", "tasks[1].retires"])
    }

    @Test func unreadableFile() throws {
        let error = try #require(
            DefinitionLoader.load(file: "/nonexistent/x.yaml", baseDirectory: "/").error?.errors.first)
        #expect(error.code == .unreadableFile)
        #expect(error.file == "/nonexistent/x.yaml")
    }
}
