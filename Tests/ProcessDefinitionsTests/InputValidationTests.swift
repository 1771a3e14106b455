import ProcessDefinitions
import Testing

@Suite("Input validation")
struct InputValidationTests {
    static let definition = ProcessDefinition(
        processType: "signup",
        inputs: [
            InputDefinition(
                name: "user_id", type: .string, required: true, pattern: "^user_[A-Za-z0-9]+$", maxLength: 12),
            InputDefinition(
                name: "plan", type: .string, defaultValue: .string("monthly"),
                enumValues: [.string("monthly"), .string("yearly")]),
            InputDefinition(name: "seats", type: .integer, defaultValue: .integer(1), min: 1, max: 50),
            InputDefinition(name: "discount", type: .number, min: 0, max: 0.5),
            InputDefinition(name: "trial", type: .boolean),
            InputDefinition(name: "profile", type: .object),
            InputDefinition(name: "tags", type: .array),
        ],
        tasks: [], file: "signup.yaml", baseDirectory: "/definitions")

    static func problems(_ request: [String: JSONValue], _ definition: ProcessDefinition = definition) -> [String] {
        definition.validateInputs(request).error?.problems ?? []
    }

    @Test func defaultsAreApplied() throws {
        let inputs = try #require(Self.definition.validateInputs(["user_id": "user_1"]).value)
        #expect(inputs == ["user_id": "user_1", "plan": "monthly", "seats": 1])
    }

    @Test func givenValuesWinOverDefaults() throws {
        let request: [String: JSONValue] = [
            "user_id": "user_1", "plan": "yearly", "seats": 3, "discount": .number(0.25), "trial": true,
            "profile": .object(["name": "Ann"]), "tags": .array(["a"]),
        ]
        #expect(Self.definition.validateInputs(request).value == request)
    }

    @Test func missingRequiredInput() {
        #expect(Self.problems([:]) == ["missing required input 'user_id' (string)"])
    }

    @Test func nullCountsAsAbsent() throws {
        #expect(Self.problems(["user_id": .null]) == ["missing required input 'user_id' (string)"])
        let inputs = try #require(
            Self.definition.validateInputs(["user_id": "user_1", "plan": .null, "trial": .null]).value)
        #expect(inputs["plan"] == "monthly")
        #expect(inputs["trial"] == nil)
    }

    @Test(arguments: [
        ("user_id", JSONValue.integer(5), "input 'user_id' must be a string, got integer 5"),
        ("seats", .string("3"), #"input 'seats' must be an integer, got string "3""#),
        ("seats", .number(2.5), "input 'seats' must be an integer, got number 2.5"),
        ("discount", .bool(true), "input 'discount' must be a number, got boolean true"),
        ("trial", .string("yes"), #"input 'trial' must be a boolean, got string "yes""#),
        ("profile", .array([]), "input 'profile' must be an object, got array []"),
        ("tags", .object([:]), "input 'tags' must be an array, got object {}"),
    ])
    func wrongTypeSaysExpectedAndGot(name: String, value: JSONValue, problem: String) {
        var request: [String: JSONValue] = ["user_id": "user_1"]
        request[name] = value
        #expect(Self.problems(request) == [problem])
    }

    @Test func integersAreNumbersAndIntegralFloatsAreIntegers() throws {
        let inputs = try #require(
            Self.definition.validateInputs(["user_id": "user_1", "discount": 0, "seats": .number(4)]).value)
        #expect(inputs["discount"] == .integer(0))
        #expect(inputs["seats"] == .integer(4))
    }

    @Test func notInEnumListsTheAllowedValues() {
        #expect(
            Self.problems(["user_id": "user_1", "plan": "weekly"]) == [
                #"input 'plan' must be one of "monthly", "yearly"; got "weekly""#
            ])
    }

    @Test func patternMismatchShowsThePattern() {
        #expect(
            Self.problems(["user_id": "bob"]) == [
                #"input 'user_id' does not match the pattern ^user_[A-Za-z0-9]+$; got "bob""#
            ])
    }

    @Test func patternMustMatchTheWholeValue() {
        let definition = ProcessDefinition(
            processType: "p", inputs: [InputDefinition(name: "code", type: .string, pattern: "[0-9]+|[0-9]+x")],
            tasks: [], file: "p.yaml", baseDirectory: "/")
        #expect(definition.validateInputs(["code": "12x"]).value != nil)
        #expect(definition.validateInputs(["code": "123"]).value != nil)
        #expect(definition.validateInputs(["code": "a123"]).error != nil)
        #expect(definition.validateInputs(["code": "123\n"]).error != nil)
    }

    @Test func bounds() {
        #expect(Self.problems(["user_id": "user_1", "seats": 0]) == ["input 'seats' is below the minimum 1; got 0"])
        #expect(Self.problems(["user_id": "user_1", "seats": 51]) == ["input 'seats' is above the maximum 50; got 51"])
        #expect(
            Self.problems(["user_id": "user_1", "discount": .number(0.75)]) == [
                "input 'discount' is above the maximum 0.5; got 0.75"
            ])
        #expect(Self.problems(["user_id": "user_1", "seats": 50, "discount": .number(0.5)]).isEmpty)
    }

    @Test func maxLengthCountsCharacters() {
        #expect(
            Self.problems(["user_id": "user_abcdefgh"]) == ["input 'user_id' is longer than 12 characters (got 13)"])
        let definition = ProcessDefinition(
            processType: "p", inputs: [InputDefinition(name: "name", type: .string, maxLength: 3)],
            tasks: [], file: "p.yaml", baseDirectory: "/")
        #expect(definition.validateInputs(["name": "été"]).value != nil)
        #expect(definition.validateInputs(["name": "🇫🇷🇩🇪🇮🇹"]).value != nil)
    }

    @Test func unknownInputsListTheDeclaredOnes() {
        #expect(
            Self.problems(["user_id": "user_1", "colour": "red"]) == [
                "unknown input 'colour'; declared inputs: user_id, plan, seats, discount, trial, profile, tags"
            ])
        let bare = ProcessDefinition(processType: "bare", tasks: [], file: "bare.yaml", baseDirectory: "/")
        #expect(Self.problems(["x": 1], bare) == ["unknown input 'x'; this process type declares no inputs"])
    }

    @Test func additionalInputsArePassedThrough() throws {
        var definition = Self.definition
        definition.additionalInputs = true
        let inputs = try #require(definition.validateInputs(["user_id": "user_1", "colour": "red"]).value)
        #expect(inputs["colour"] == "red")
    }

    @Test func processTypeKeyIsNotAnInput() {
        #expect(Self.problems(["user_id": "user_1", "process_type": "signup"]).isEmpty)
    }

    @Test func everyProblemIsReportedAndJoined() throws {
        let error = try #require(Self.definition.validateInputs(["plan": "weekly", "seats": "many", "zzz": 1]).error)
        #expect(
            error.problems == [
                "missing required input 'user_id' (string)",
                #"input 'plan' must be one of "monthly", "yearly"; got "weekly""#,
                #"input 'seats' must be an integer, got string "many""#,
                "unknown input 'zzz'; declared inputs: user_id, plan, seats, discount, trial, profile, tags",
            ])
        #expect(error.message == error.problems.joined(separator: "; "))
    }

    @Test func hugeValuesAreShortenedInMessages() throws {
        let long = String(repeating: "x", count: 500)
        let problem = try #require(Self.problems(["user_id": .string(long)]).first)
        #expect(problem.count < 200)
    }

    @Test func loadedDefinitionValidatesRequests() throws {
        let definition = try #require(Fixtures.load("valid", "premium_subscription.yaml").value)
        #expect(definition.validateInputs(["user_id": "user_123"]).value == ["user_id": "user_123", "plan": "monthly"])
        #expect(definition.validateInputs(["user_id": "nobody"]).error?.problems.count == 1)
    }
}
