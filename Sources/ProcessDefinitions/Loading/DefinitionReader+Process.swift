import Yams

extension DefinitionReader {
    static let processKeys = [
        "process_type", "description", "inputs", "additional_inputs", "timeout", "concurrency", "schedule",
        "tasks", "on_failure",
    ]
    static let scheduleKeys = ["cron", "inputs"]

    /// The whole definition, or nil when anything was reported.
    mutating func readDefinition(_ root: Node?, processType: String, baseDirectory: String) -> ProcessDefinition? {
        guard let root else {
            report(.notAMapping, at: nil, key: nil, "the file is empty; a definition is a mapping with at least a tasks: list")
            return nil
        }
        guard let fields = fields(of: root, at: "", allowed: Self.processKeys, what: "a definition") else { return nil }
        if let node = fields["process_type"], let written = string(node, at: "process_type"), written != processType {
            report(.typeMismatch, at: node, key: "process_type", "process_type '\(written)' differs from the file name, which makes the type '\(processType)'; rename the file or write process_type: \(processType)")
        }
        let description = fields["description"].flatMap { string($0, at: "description") }
        let additionalInputs = fields["additional_inputs"].flatMap { bool($0, at: "additional_inputs") } ?? false
        let errorsBeforeInputs = errors.count
        let (inputs, inputNames) = fields["inputs"].map { readInputs($0) } ?? ([], [])
        let inputsValid = errors.count == errorsBeforeInputs
        let timeout = fields["timeout"].flatMap { duration($0, at: "timeout", allowZero: false) }
        let concurrency = fields["concurrency"].flatMap { integer($0, at: "concurrency", minimum: 1) }
        let schedule = fields["schedule"].map {
            readSchedule($0, inputs: inputsValid ? inputs : nil, additionalInputs: additionalInputs)
        } ?? []

        var tasks: [TaskDraft] = []
        if let node = fields["tasks"] {
            tasks = readTaskList(node, at: "tasks")
            if case .sequence(let sequence) = node, sequence.isEmpty {
                report(.invalidValue, at: node, key: "tasks", "tasks is empty; a definition needs at least one task")
            }
        } else {
            report(.missingField, at: root, key: "tasks", "a definition needs a tasks: list (each a mapping with a name and one of run, shell or sleep)")
        }
        let onFailure = fields["on_failure"].map { readTaskList($0, at: "on_failure") } ?? []

        let inputScope = TemplateScope.Inputs(names: inputNames, additional: additionalInputs)
        let (taskDependencies, failureDependencies) = resolveTasks(tasks, onFailure: onFailure, inputs: inputScope)

        guard errors.isEmpty else { return nil }
        return ProcessDefinition(
            processType: processType, description: description, inputs: inputs, additionalInputs: additionalInputs,
            timeout: timeout, concurrency: concurrency, schedule: schedule,
            tasks: zip(tasks, taskDependencies).compactMap { $0.definition(dependencies: $1) },
            onFailure: zip(onFailure, failureDependencies).compactMap { $0.definition(dependencies: $1) },
            file: file, baseDirectory: baseDirectory)
    }

    /// `schedule:`: each entry's cron, and its inputs checked as a request would be (when the
    /// declared inputs themselves are valid), so that a scheduled run cannot be rejected later.
    mutating func readSchedule(_ node: Node, inputs: [InputDefinition]?, additionalInputs: Bool) -> [ScheduleDefinition] {
        guard let items = list(node, at: "schedule", of: "entries like {cron: \"0 3 * * *\", inputs: {...}}") else { return [] }
        var schedule: [ScheduleDefinition] = []
        for (index, item) in items.enumerated() {
            let path = "schedule[\(index)]"
            guard let fields = fields(of: item, at: path, allowed: Self.scheduleKeys, what: "a schedule entry") else { continue }
            var cron: CronExpression?
            if let cronNode = fields["cron"] {
                if let text = string(cronNode, at: "\(path).cron", what: "a cron expression") {
                    do {
                        cron = try CronExpression(parsing: text)
                    } catch {
                        report(.invalidCron, at: cronNode, key: "\(path).cron", error.message)
                    }
                }
            } else {
                report(.missingField, at: item, key: path, "a schedule entry needs cron: a 5-field expression such as \"0 3 * * *\" or a macro such as @daily (UTC)")
            }
            var values: [String: JSONValue] = [:]
            if let inputsNode = fields["inputs"] {
                guard case .mapping = inputsNode, case .object(let object) = YAMLValue.json(of: inputsNode) else {
                    report(.notAMapping, at: inputsNode, key: "\(path).inputs", "schedule inputs must be a mapping of input names to values, like a request's keys; got \(YAMLValue.describe(inputsNode))")
                    continue
                }
                values = object
            }
            if let inputs, case .failure(let error) = ProcessDefinition.validate(values, against: inputs, additionalInputs: additionalInputs) {
                report(.invalidValue, at: fields["inputs"] ?? item, key: "\(path).inputs", "a scheduled request would be rejected: \(error.message)")
                continue
            }
            if let cron { schedule.append(ScheduleDefinition(cron: cron, inputs: values)) }
        }
        return schedule
    }
}
