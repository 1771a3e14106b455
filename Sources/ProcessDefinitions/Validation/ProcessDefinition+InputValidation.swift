extension ProcessDefinition {
    /// Checks a request's inputs against `inputs:` and returns them with defaults applied.
    ///
    /// `request` is the request object without its `process_type` key. A null counts as absent
    /// for an optional input. Undeclared keys are refused unless `additional_inputs: true`, in
    /// which case they are passed on unchanged.
    /// - Returns: every problem at once in `InputValidationError`, one per offending field.
    public func validateInputs(_ request: [String: JSONValue]) -> Result<[String: JSONValue], InputValidationError> {
        Self.validate(request, against: inputs, additionalInputs: additionalInputs)
    }

    static func validate(
        _ request: [String: JSONValue], against inputs: [InputDefinition], additionalInputs: Bool
    ) -> Result<[String: JSONValue], InputValidationError> {
        var problems: [String] = []
        var accepted: [String: JSONValue] = [:]
        for input in inputs {
            let given = request[input.name].flatMap { $0 == .null ? nil : $0 }
            guard let given else {
                if input.required {
                    problems.append("missing required input '\(input.name)' (\(input.type.rawValue))")
                } else if let defaultValue = input.defaultValue {
                    accepted[input.name] = defaultValue
                }
                continue
            }
            switch input.check(given) {
            case .success(let value): accepted[input.name] = value
            case .failure(let error): problems += error.problems
            }
        }
        let declared = Set(inputs.map(\.name))
        for key in request.keys.sorted() where !declared.contains(key) && key != "process_type" {
            if additionalInputs {
                if case .string(let text)? = request[key], text.utf8.contains(0) {
                    problems.append(InputDefinition.nulProblem(key))
                    continue
                }
                accepted[key] = request[key]
            } else if declared.isEmpty {
                problems.append("unknown input '\(key)'; this process type declares no inputs")
            } else {
                problems.append(
                    "unknown input '\(key)'; declared inputs: \(inputs.map(\.name).joined(separator: ", "))")
            }
        }
        return problems.isEmpty ? .success(accepted) : .failure(InputValidationError(problems: problems))
    }
}
