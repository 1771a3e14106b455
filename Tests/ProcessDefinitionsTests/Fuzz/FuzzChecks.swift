import Foundation

#if !FUZZING
import ProcessDefinitions
#endif

/// What each fuzz target checks about one input: it must not crash, hang or break an invariant.
///
/// Compiled twice: into the libFuzzer binaries by `scripts/fuzz.sh` (with `-D FUZZING`, in the
/// same module as the ProcessDefinitions sources) and into the tests, which replay every input
/// the fuzzers ever found (`Fixtures/fuzz/<target>/`) so a fixed crash stays fixed.
enum FuzzChecks {
    /// The fuzz targets by name, as `scripts/fuzz.sh TARGET` and the fixture folders call them.
    static let targets: [String: @Sendable (Data) -> Void] = [
        "request": { request($0) },
        "definition": { definition($0) },
        "template": { template($0) },
        "cron": { cron($0) },
    ]

    /// Request decoding: the strict parser either refuses the bytes or gives a value whose
    /// compact JSON parses back to the same value; what it accepts is always UTF-8.
    static func request(_ data: Data) {
        guard let value = try? StrictJSONParser.parse(data) else { return }
        precondition(String(validating: data, as: UTF8.self) != nil, "accepted bytes that are not UTF-8")
        let text = value.compactJSON
        guard let again = try? StrictJSONParser.parse(text) else {
            preconditionFailure("the compact JSON of an accepted value does not parse: \(text.prefix(200))")
        }
        precondition(equivalent(value, again), "compact JSON changed the value: \(text.prefix(200))")
        if case .object(let fields) = value {
            // What intake does next with an object.
            let definition = try? DefinitionLoader.parse(
                yaml: sampleDefinition, file: "sample.yaml", baseDirectory: "/definitions"
            ).get()
            _ = definition?.validateInputs(fields)
        }
    }

    /// Definition loading: any text loads or gives located errors, in bounded time.
    static func definition(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        switch DefinitionLoader.parse(yaml: text, file: "fuzz.yaml", baseDirectory: "/definitions") {
        case .success(let definition):
            precondition(!definition.tasks.isEmpty, "a definition without tasks loaded")
            let names = (definition.tasks + definition.onFailure).map(\.name)
            precondition(Set(names).count == names.count, "duplicate task names loaded")
        case .failure(let list):
            precondition(!list.errors.isEmpty, "a failure without errors")
            for error in list.errors { precondition(!error.message.isEmpty, "an error without a message") }
        }
    }

    /// Template rendering: the first line is the template, the rest the JSON of the inputs.
    static func template(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        let (first, rest) =
            text.firstIndex(of: "\n").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (
                text, ""
            )
        guard let template = try? TemplateString(parsing: first) else { return }
        var inputs: [String: JSONValue] = [:]
        if case .object(let object)? = try? StrictJSONParser.parse(rest) { inputs = object }
        let context = TemplateContext(
            processID: "p1", workDir: "/spool/work/p1", inputs: inputs, taskOutputs: ["a": inputs])
        guard let rendered = try? template.render(context) else { return }
        // Values never bring a NUL in (the loader refuses one written in the definition itself).
        if !first.utf8.contains(0) { precondition(!rendered.utf8.contains(0), "a rendered template holds a NUL byte") }
        if template.references.isEmpty {
            precondition(rendered == template.source, "a plain string changed when rendered")
        }
    }

    /// Cron parsing: an accepted expression gives strictly increasing slots.
    static func cron(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        guard let expression = try? CronExpression(parsing: text) else { return }
        var date = Date(timeIntervalSince1970: 1_780_000_000)
        for _ in 0..<3 {
            guard let next = expression.next(after: date) else { return }
            precondition(next > date, "next(after:) did not move forward")
            precondition(Int64(next.timeIntervalSince1970) % 60 == 0, "a slot not on a whole minute")
            date = next
        }
    }

    static let sampleDefinition = """
        inputs:
          user_id: {type: string, required: true, pattern: "^user_[0-9]+$", max_length: 40}
          count: {type: integer, min: 1, max: 5, default: 1}
          ratio: {type: number, min: 0, max: 1}
          plan: {type: string, enum: [monthly, yearly], default: monthly}
          tags: {type: array}
          extra: {type: object}
        tasks:
          - name: hello
            run: ["/bin/echo", "{{inputs.user_id}}", "{{inputs.tags}}"]
        """

    /// Equal as JSON: an integer and a float of the same value are the same number.
    static func equivalent(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equivalent($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equivalent(value, $0) } ?? false }
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y }
            return a == b
        }
    }
}
