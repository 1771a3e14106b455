import Foundation
import Testing

/// Validates JSON (or YAML) files against a JSON Schema with Python's `jsonschema`
/// (Draft7Validator), the validator editors' tooling agrees with.
enum SchemaValidator {
    static let program = #"""
        import json, re, sys, yaml, jsonschema
        # YAML as the runner reads it: no timestamps (the loader keeps them as strings).
        class Loader(yaml.SafeLoader):
            pass
        # and booleans of YAML 1.2 only (true/false), as Yams and yaml-language-server read them.
        Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] not in ('tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:bool')] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        Loader.add_implicit_resolver('tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF'))
        request = json.load(sys.stdin)
        schema = json.load(open(request["schema"]))
        jsonschema.Draft7Validator.check_schema(schema)
        validator = jsonschema.Draft7Validator(schema)
        result = {}
        for path in request["files"]:
            try:
                with open(path) as f:
                    document = yaml.load(f, Loader=Loader) if path.endswith((".yaml", ".yml")) else json.load(f)
                result[path] = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
            except yaml.YAMLError as error:
                result[path] = [f"not YAML: {error}"]
        print(json.dumps(result))
        """#

    /// Whether python3 with jsonschema and yaml is there (skip line or failure otherwise).
    static func available() async -> Bool {
        guard await RequiredTool.pythonModule("jsonschema", installHint: "pip install jsonschema") else { return false }
        return await RequiredTool.pythonModule("yaml", installHint: "pip install pyyaml")
    }

    /// The schema errors of each file (empty: valid).
    static func errors(schema: String, files: [String]) async throws -> [String: [String]] {
        let input = try JSONSerialization.data(withJSONObject: ["schema": schema, "files": files])
        let result = try await Shell.run(
            "/usr/bin/env", ["python3", "-c", program], input: String(decoding: input, as: UTF8.self))
        guard result.status == 0,
            let parsed = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: [String]]
        else {
            throw SchemaValidatorError(message: "python3 failed (\(result.status)): \(result.standardError)")
        }
        return parsed
    }
}

struct SchemaValidatorError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
