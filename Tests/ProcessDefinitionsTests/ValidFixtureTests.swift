import Foundation
import ProcessDefinitions
import Testing

@Suite("Valid definition fixtures")
struct ValidFixtureTests {
    @Test("each valid fixture loads", arguments: Fixtures.files("valid"))
    func fixtureLoads(_ file: String) {
        let result = Fixtures.load("valid", file)
        #expect(result.error == nil, "\(result.error?.description ?? "")")
    }

    @Test func theSpecExampleLoadsAsWritten() throws {
        let definition = try #require(Fixtures.load("valid", "premium_subscription.yaml").value)
        #expect(definition.processType == "premium_subscription")
        #expect(definition.description == "Sign a user up for the premium plan")
        #expect(definition.inputs.map(\.name) == ["user_id", "plan"])
        let userID = definition.inputs[0]
        #expect(userID.type == .string && userID.required && userID.pattern == "^user_[A-Za-z0-9]+$")
        #expect(definition.inputs[1].enumValues == [.string("monthly"), .string("yearly")])
        #expect(definition.inputs[1].defaultValue == .string("monthly"))
        #expect(definition.timeout == .seconds(600))
        #expect(definition.concurrency == 50)
        #expect(definition.schedule.count == 1)
        #expect(definition.schedule.first?.cron.source == "0 3 * * *")
        #expect(definition.schedule.first?.inputs == ["user_id": .string("user_batch")])
        #expect(definition.tasks.map(\.name) == ["validate_user", "send_email", "register_external_service"])
        #expect(definition.tasks.map(\.dependencies) == [[], ["validate_user"], ["validate_user"]])
        #expect(definition.tasks.map(\.mode) == [.sync, .async, .sync])
        #expect(definition.tasks[0].timeout == .seconds(30))
        #expect(
            definition.tasks[1].retry == RetryPolicy(maxAttempts: 5, backoff: .seconds(1), maxBackoff: .seconds(60)))
        #expect(definition.tasks[1].retry.maxAttempts == 5)
        let register = definition.tasks[2]
        #expect(register.needs == ["validate_user"])
        #expect(register.idempotent == false)
        #expect(register.env.map(\.name) == ["REGISTRY_URL"])
        #expect(register.env.first?.value.parts == [.literal("http://127.0.0.1:9000/register")])
        guard case .shell(let script) = register.action else {
            Issue.record("register_external_service should be a shell task")
            return
        }
        #expect(script == #"curl -fsS -d "user=$SPOOL_INPUT_USER_ID" "$REGISTRY_URL""#)
        guard case .run(let argv) = definition.tasks[0].action else {
            Issue.record("validate_user should be a run task")
            return
        }
        #expect(argv.map(\.parts) == [[.literal("scripts/validate_user.sh")], [.reference(.input("user_id"))]])
        #expect(definition.onFailure.map(\.name) == ["notify_failure"])
        #expect(definition.onFailure[0].dependencies == [])
        #expect(definition.file.hasSuffix("valid/premium_subscription.yaml"))
        #expect(definition.baseDirectory.hasSuffix("valid"))
    }

    @Test func fanOutJoinAndOnFailure() throws {
        let definition = try #require(Fixtures.load("valid", "order_fulfillment.yaml").value)
        let dependencies = Dictionary(uniqueKeysWithValues: definition.allTasks.map { ($0.name, $0.dependencies) })
        #expect(dependencies["reserve_stock"] == [])
        #expect(dependencies["charge_payment"] == [])
        #expect(dependencies["notify_warehouse"] == [])
        #expect(dependencies["pack_order"] == ["reserve_stock", "charge_payment", "notify_warehouse"])
        #expect(dependencies["wait_for_courier"] == ["pack_order"])
        #expect(dependencies["ship_order"] == ["wait_for_courier"])
        #expect(dependencies["cancel_order"] == [])
        #expect(dependencies["tell_support"] == ["cancel_order"])
        #expect(definition.task(named: "ship_order")?.continueOnFailure == true)
        #expect(definition.task(named: "charge_payment")?.idempotent == false)
        #expect(
            definition.task(named: "notify_warehouse")?.retry
                == RetryPolicy(maxAttempts: 3, backoff: .milliseconds(500), maxBackoff: .seconds(2)))
        guard case .sleep(let wait) = definition.task(named: "wait_for_courier")?.action else {
            Issue.record("wait_for_courier should sleep")
            return
        }
        #expect(wait == .seconds(1))
        let packEnv = try #require(definition.task(named: "pack_order")?.env)
        #expect(packEnv[1].value.references == [.taskOutput(task: "charge_payment", key: "payment_id")])
        #expect(definition.inputs.first { $0.name == "weight" }?.defaultValue == .integer(2))
        #expect(definition.inputs.first { $0.name == "weight" }?.min == 0.5)
    }

    @Test func ymlExtensionAndSleepOnly() throws {
        let definition = try #require(Fixtures.load("valid", "minimal.yml").value)
        #expect(definition.processType == "minimal")
        guard case .sleep(let wait) = definition.tasks.first?.action else {
            Issue.record("expected a sleep task")
            return
        }
        #expect(wait == .milliseconds(250))
        #expect(definition.tasks[0].idempotent && !definition.tasks[0].continueOnFailure)
        #expect(definition.tasks[0].mode == .sync && definition.tasks[0].needs == nil)
    }

    @Test func additionalInputsAndUnquotedEnvironmentValues() throws {
        let definition = try #require(Fixtures.load("valid", "open_inputs.yaml").value)
        #expect(definition.additionalInputs)
        let env = definition.tasks[0].env.map { "\($0.name)=\($0.value.source)" }
        #expect(env == ["PORT=8080", "DEBUG=true", "RATIO=1.50"])
    }

    @Test func schedulesAndDottedTaskNames() throws {
        let definition = try #require(Fixtures.load("valid", "nightly.yaml").value)
        #expect(definition.schedule.map(\.cron.source) == ["@daily", "*/15 9-17 * * MON-FRI", "0 0 1,15 * *"])
        #expect(definition.schedule.map(\.name) == ["daily", "office", "twice-monthly"])
        #expect(definition.schedule[1].inputs == ["scope": .string("office_hours")])
        #expect(definition.schedule.map(\.timeZoneName) == ["UTC", "Europe/Berlin", "UTC"])
        #expect(definition.schedule.map(\.catchUp) == [.latest, .none, .all])
        #expect(definition.schedule.map(\.overlap) == [.allow, .skip, .allow])
        #expect(definition.tasks[0].name == "1st.step-a")
        #expect(definition.tasks[0].timeout == .seconds(3600))
    }

    /// Inputs a request would be rejected for do not make the definition invalid: each slot is
    /// submitted and rejected invalid_inputs like a dropped request; the entry keeps the reason.
    @Test func scheduleInputsARequestWouldBeRejectedFor() throws {
        let definition = try #require(Fixtures.load("valid", "schedule_inputs_rejected.yaml").value)
        let problem = try #require(definition.schedule.first?.inputsProblem)
        #expect(problem.line == 5 && problem.column == 13 && problem.key == "schedule[0].inputs")
        #expect(problem.message.contains("missing required input 'user_id'"))
    }

    @Test func yamlCoreSchemaTyping() throws {
        let definition = try #require(Fixtures.load("valid", "yaml_typing.yaml").value)
        let defaults = Dictionary(uniqueKeysWithValues: definition.inputs.map { ($0.name, $0.defaultValue) })
        #expect(definition.inputs[0].enumValues == ["yes", "no", "on", "off"].map(JSONValue.string))
        #expect(defaults["answer"] == .string("no"))
        #expect(defaults["version"] == .string("1.10"))
        #expect(defaults["level"] == .integer(31))
        #expect(defaults["ratio"] == .number(1000))
        #expect(defaults["tags"] == .array([.string("a"), .integer(1), .bool(true), .null]))
        #expect(defaults["options"] == .object(["retries": .integer(2), "name": .string("x")]))
        #expect(defaults["note"] == .string("null"))
        guard case .run(let argv) = definition.tasks[0].action else {
            Issue.record("expected a run task")
            return
        }
        #expect(argv.map(\.source) == ["echo", "42", "true", "1.50", "{{inputs.answer}}"])
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let definition = try #require(Fixtures.load("valid", "anchors.yaml").value)
        #expect(definition.tasks.map(\.name) == ["first", "second", "third"])
        let third = definition.tasks[2]
        #expect(third.mode == .async)
        #expect(third.timeout == .seconds(60))
        #expect(third.retry == RetryPolicy(maxAttempts: 3, backoff: .seconds(2)))
        #expect(third.env.map(\.name) == ["REGION"])
        guard case .run(let argv) = third.action else {
            Issue.record("third should inherit run: from second")
            return
        }
        #expect(argv.map(\.source) == ["scripts/step.sh", "two"])
    }

    @Test func theShippedDefinitionsLoad() throws {
        // Tests/ProcessDefinitionsTests/ValidFixtureTests.swift -> definitions/
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = root.appendingPathComponent("definitions").path
        try #require(FileManager.default.fileExists(atPath: directory))
        let catalog = DefinitionCatalog.load(directory: directory)
        #expect(catalog.errors.isEmpty, "\(catalog.errors)")
        #expect(catalog.definitions["premium_subscription"] != nil)
    }
}
