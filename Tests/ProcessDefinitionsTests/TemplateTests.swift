import ProcessDefinitions
import Testing

@Suite("Templates")
struct TemplateTests {
    static let context = TemplateContext(
        processID: "proc_0123456789ab", workDir: "/spool/work/proc_0123456789ab",
        inputs: [
            "user_id": .string("user_42"),
            "evil": .string("$(touch /tmp/x); rm -rf ~"),
            "sneaky": .string("{{process_id}}"),
            "count": .integer(42),
            "ratio": .number(1.5),
            "flags": .object(["b": .bool(true), "a": .null]),
            "list": .array([.integer(1), .string("two")]),
        ],
        taskOutputs: ["fetch": ["url": .string("https://example.com/a b"), "size": .integer(7)]])

    @Test(arguments: [
        ("plain text", [TemplateString.Part.literal("plain text")]),
        ("", []),
        ("{{inputs.user_id}}", [.reference(.input("user_id"))]),
        ("{{   inputs.user_id  }}", [.reference(.input("user_id"))]),
        ("--user={{ inputs.user_id }}!", [.literal("--user="), .reference(.input("user_id")), .literal("!")]),
        ("{{process_id}}/{{work_dir}}", [.reference(.processID), .literal("/"), .reference(.workDir)]),
        ("{{tasks.fetch.output.url}}", [.reference(.taskOutput(task: "fetch", key: "url"))]),
        ("{{tasks.step.v2.output.key}}", [.reference(.taskOutput(task: "step.v2", key: "key"))]),
        ("{single} braces }} and { stay", [.literal("{single} braces }} and { stay")]),
        ("a{{process_id}}b{{work_dir}}", [.literal("a"), .reference(.processID), .literal("b"), .reference(.workDir)]),
    ])
    func parsing(text: String, parts: [TemplateString.Part]) throws {
        let template = try TemplateString(parsing: text)
        #expect(template.parts == parts)
        #expect(template.source == text)
    }

    @Test(arguments: [
        "{{inputs.user_id", "text {{ process_id", "{{}}", "{{ }}", "{{input.user}}", "{{inputs.}}",
        "{{inputs.user-id}}", "{{tasks.fetch.url}}", "{{tasks.fetch.output.}}", "{{tasks..output.key}}",
        "{{PROCESS_ID}}", "{{env.HOME}}",
    ])
    func syntaxErrors(text: String) {
        #expect(throws: TemplateSyntaxError.self) { try TemplateString(parsing: text) }
    }

    @Test func syntaxErrorsSayWhatIsValid() {
        #expect {
            try TemplateString(parsing: "{{input.user}}")
        } throws: { error in
            (error as? TemplateSyntaxError)?.message.contains("{{inputs.NAME}}") == true
        }
        #expect {
            try TemplateString(parsing: "x {{inputs.user")
        } throws: { error in
            (error as? TemplateSyntaxError)?.message.contains("never closed") == true
        }
    }

    @Test func shellMetacharactersRenderUnchangedAsOneString() throws {
        let template = try TemplateString(parsing: "{{inputs.evil}}")
        #expect(try template.render(Self.context) == "$(touch /tmp/x); rm -rf ~")
        let argument = try TemplateString(parsing: "--name={{inputs.evil}}")
        #expect(try argument.render(Self.context) == "--name=$(touch /tmp/x); rm -rf ~")
    }

    @Test func aValueIsNeverExpandedASecondTime() throws {
        let template = try TemplateString(parsing: "id={{inputs.sneaky}}")
        #expect(try template.render(Self.context) == "id={{process_id}}")
    }

    @Test(arguments: [
        ("{{inputs.count}}", "42"),
        ("{{inputs.ratio}}", "1.5"),
        ("{{inputs.flags}}", #"{"a":null,"b":true}"#),
        ("{{inputs.list}}", #"[1,"two"]"#),
        ("{{tasks.fetch.output.url}}", "https://example.com/a b"),
        ("size={{tasks.fetch.output.size}}", "size=7"),
        ("{{process_id}} in {{work_dir}}", "proc_0123456789ab in /spool/work/proc_0123456789ab"),
    ])
    func rendering(text: String, rendered: String) throws {
        #expect(try TemplateString(parsing: text).render(Self.context) == rendered)
    }

    @Test(arguments: ["{{inputs.absent}}", "{{tasks.other.output.x}}", "{{tasks.fetch.output.missing}}"])
    func missingValuesFailToRender(text: String) throws {
        let template = try TemplateString(parsing: text)
        #expect(throws: TemplateRenderError.self) { try template.render(Self.context) }
    }

    // MARK: Load-time checks

    @Test func outputsOfTransitiveDependenciesMayBeUsed() throws {
        let result = parseDefinition(
            """
            tasks:
              - name: a
                run: [scripts/a.sh]
              - name: b
                run: [scripts/b.sh]
              - name: c
                run: [echo, "{{tasks.a.output.x}}", "{{tasks.b.output.y}}"]
                env: {FROM_A: "{{ tasks.a.output.x }}"}
            """)
        let definition = try #require(result.value, "\(result.error?.description ?? "")")
        #expect(definition.tasks[2].env.first?.value.references == [.taskOutput(task: "a", key: "x")])
    }

    @Test func onFailureTasksCannotUseMainTaskOutputs() throws {
        let errors = try #require(
            parseDefinition(
                """
                tasks:
                  - name: a
                    run: [scripts/a.sh]
                on_failure:
                  - name: f
                    run: [echo, "{{tasks.a.output.x}}"]
                """
            ).error
        ).errors
        #expect(errors.map(\.code) == [.invalidTemplate])
        #expect(errors.first?.key == "on_failure[0].run[1]")
    }

    @Test func unknownTaskInTemplate() throws {
        let error = try #require(
            parseDefinition(
                """
                tasks:
                  - name: a
                    run: [echo, "{{tasks.nope.output.x}}"]
                """
            ).error?.errors.first)
        #expect(error.code == .invalidTemplate)
        #expect(error.message.contains("names no task"))
    }

    @Test func additionalInputsAllowAnyInputName() throws {
        let result = parseDefinition(
            """
            additional_inputs: true
            tasks:
              - name: a
                run: [echo, "{{inputs.whatever}}"]
            """)
        #expect(result.value != nil)
    }

    @Test func templatesOutsideRunAndEnvStayLiteral() throws {
        let definition = try #require(
            parseDefinition(
                """
                description: "uses {{ braces }} and an unclosed {{"
                inputs:
                  greeting: {type: string, default: "{{process_id}}"}
                tasks:
                  - name: a
                    sleep: 1s
                """
            ).value)
        #expect(definition.description == "uses {{ braces }} and an unclosed {{")
        #expect(definition.inputs[0].defaultValue == .string("{{process_id}}"))
    }

    @Test func anyBracesInShellAreRefusedEvenIfNotATemplate() throws {
        let error = try #require(
            parseDefinition(
                """
                tasks:
                  - name: a
                    shell: echo '{{ not even valid'
                """
            ).error?.errors.first)
        #expect(error.code == .templateInShell)
        #expect(error.message.contains("$SPOOL_INPUT_USER_ID"))
    }

    @Test func templatesInEnvValuesAreChecked() throws {
        let error = try #require(
            parseDefinition(
                """
                tasks:
                  - name: a
                    run: [env]
                    env:
                      USER_ID: "{{inputs.user_id}}"
                """
            ).error?.errors.first)
        #expect(error.code == .invalidTemplate)
        #expect(error.key == "tasks[0].env.USER_ID")
        #expect(error.message.contains("no inputs are declared"))
    }
}
