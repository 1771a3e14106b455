import Foundation
import Yams

extension DefinitionReader {
    static let processKeys = [
        "process_type", "description", "inputs", "additional_inputs", "timeout", "concurrency", "schedule",
        "tasks", "on_failure",
    ]
    static let scheduleKeys = ["name", "cron", "timezone", "inputs", "catch_up", "overlap"]

    /// The whole definition, or nil when anything was reported.
    mutating func readDefinition(_ root: Node?, processType: String, baseDirectory: String) -> ProcessDefinition? {
        guard let root else {
            report(
                .notAMapping, at: nil, key: nil,
                "the file is empty; a definition is a mapping with at least a tasks: list")
            return nil
        }
        guard let fields = fields(of: root, at: "", allowed: Self.processKeys, what: "a definition") else { return nil }
        if let node = fields["process_type"], let written = string(node, at: "process_type"), written != processType {
            report(
                .typeMismatch, at: node, key: "process_type",
                "process_type '\(written)' differs from the file name, which makes the type '\(processType)'; rename the file or write process_type: \(processType)"
            )
        }
        let description = fields["description"].flatMap { string($0, at: "description") }
        let additionalInputs = fields["additional_inputs"].flatMap { bool($0, at: "additional_inputs") } ?? false
        let errorsBeforeInputs = errors.count
        let (inputs, inputNames) = fields["inputs"].map { readInputs($0) } ?? ([], [])
        let inputsValid = errors.count == errorsBeforeInputs
        let timeout = fields["timeout"].flatMap { duration($0, at: "timeout", allowZero: false) }
        let concurrency = fields["concurrency"].flatMap { integer($0, at: "concurrency", minimum: 1) }
        let schedule =
            fields["schedule"].map {
                readSchedule(
                    $0, processType: processType, inputs: inputsValid ? inputs : nil, additionalInputs: additionalInputs
                )
            } ?? []

        var tasks: [TaskDraft] = []
        if let node = fields["tasks"] {
            tasks = readTaskList(node, at: "tasks")
            if case .sequence(let sequence) = node, sequence.isEmpty {
                report(.invalidValue, at: node, key: "tasks", "tasks is empty; a definition needs at least one task")
            }
        } else {
            report(
                .missingField, at: root, key: "tasks",
                "a definition needs a tasks: list (each a mapping with a name and one of run, shell or sleep)")
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

    /// `schedule:`: each entry's cron, name, time zone and rules. Invalid cron, an unknown time
    /// zone and missing or duplicate names are errors of the definition. Inputs that a request
    /// would be rejected for are not: they are kept as the entry's `inputsProblem`, `validate`
    /// warns, and each slot is rejected `invalid_inputs` like any dropped request.
    mutating func readSchedule(_ node: Node, processType: String, inputs: [InputDefinition]?, additionalInputs: Bool)
        -> [ScheduleDefinition]
    {
        guard let items = list(node, at: "schedule", of: "entries like {cron: \"0 3 * * *\", inputs: {...}}") else {
            return []
        }
        var schedule: [ScheduleDefinition] = []
        var namesSeen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "schedule[\(index)]"
            guard let fields = fields(of: item, at: path, allowed: Self.scheduleKeys, what: "a schedule entry") else {
                continue
            }
            var valid = true
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
                report(
                    .missingField, at: item, key: path,
                    "a schedule entry needs cron: a 5-field expression such as \"0 3 * * *\" or a macro such as @daily (UTC unless timezone: is set)"
                )
            }
            var name: String?
            if let nameNode = fields["name"], let text = string(nameNode, at: "\(path).name", what: "a name") {
                if !Self.isScheduleName(text) {
                    report(
                        .invalidValue, at: nameNode, key: "\(path).name",
                        "schedule name '\(text)' must start with a letter or digit and use only letters, digits, '.', '_' and '-' (it becomes part of each slot's process id)"
                    )
                    valid = false
                } else if let first = namesSeen[text] {
                    report(
                        .duplicateName, at: nameNode, key: "\(path).name",
                        "schedule name '\(text)' is already used by schedule[\(first)]; each entry needs its own name")
                    valid = false
                } else {
                    namesSeen[text] = index
                    name = text
                }
            } else if items.count > 1, !fields.has("name") {
                report(
                    .missingField, at: item, key: "\(path).name",
                    "with more than one schedule entry each needs a distinct name: (it becomes part of the slot's process id, <type>-<name>-<yyyyMMdd'T'HHmm>)"
                )
                valid = false
            }
            var timeZone: TimeZone?
            if let zoneNode = fields["timezone"],
                let text = string(zoneNode, at: "\(path).timezone", what: "an IANA time zone name")
            {
                if let zone = Self.timeZone(named: text) {
                    timeZone = zone
                } else {
                    report(
                        .invalidValue, at: zoneNode, key: "\(path).timezone",
                        "unknown time zone '\(text)'; use an IANA name from the tz database such as Europe/Berlin or America/New_York (Debian package tzdata, /usr/share/zoneinfo), or leave it out for UTC"
                    )
                    valid = false
                }
            }
            var catchUp = ScheduleDefinition.CatchUp.latest
            if let catchUpNode = fields["catch_up"] {
                if let text = choice(
                    catchUpNode, at: "\(path).catch_up", among: ScheduleDefinition.CatchUp.allCases.map(\.rawValue))
                {
                    catchUp = ScheduleDefinition.CatchUp(rawValue: text) ?? .latest
                } else {
                    valid = false
                }
            }
            var overlap = ScheduleDefinition.Overlap.allow
            if let overlapNode = fields["overlap"] {
                if let text = choice(
                    overlapNode, at: "\(path).overlap", among: ScheduleDefinition.Overlap.allCases.map(\.rawValue))
                {
                    overlap = ScheduleDefinition.Overlap(rawValue: text) ?? .allow
                } else {
                    valid = false
                }
            }
            // The slot ids must be valid process ids: <type>[-<name>]-yyyyMMddTHHmm.
            let idLength = processType.utf8.count + (name.map { $0.utf8.count + 1 } ?? 0) + 14
            if !Self.isScheduleName(processType) || idLength > 128 {
                report(
                    .invalidValue, at: fields.keyNode("cron") ?? item, key: path,
                    "slot ids would be '\(processType)\(name.map { "-\($0)" } ?? "")-yyyyMMddTHHmm', not a valid process id (letters, digits, '.', '_', '-', at most 128 characters); rename the file or the entry"
                )
                valid = false
            }
            var values: [String: JSONValue] = [:]
            var inputsProblem: DefinitionError?
            if let inputsNode = fields["inputs"] {
                guard case .mapping = inputsNode, case .object(let object) = YAMLValue.json(of: inputsNode) else {
                    report(
                        .notAMapping, at: inputsNode, key: "\(path).inputs",
                        "schedule inputs must be a mapping of input names to values, like a request's keys; got \(YAMLValue.describe(inputsNode))"
                    )
                    continue
                }
                values = object
            }
            if let inputs,
                case .failure(let error) = ProcessDefinition.validate(
                    values, against: inputs, additionalInputs: additionalInputs)
            {
                let mark = (fields["inputs"] ?? item).mark
                inputsProblem = DefinitionError(
                    code: .invalidValue, file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                    key: "\(path).inputs",
                    message: "each slot's request will be rejected invalid_inputs: \(error.message)")
            }
            if let cron, valid {
                schedule.append(
                    ScheduleDefinition(
                        name: name, cron: cron, timeZone: timeZone, inputs: values, catchUp: catchUp, overlap: overlap,
                        inputsProblem: inputsProblem))
            }
        }
        return schedule
    }

    static func isScheduleName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.utf8.count <= 100 else { return false }
        func plain(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))
        }
        return plain(first) && text.unicodeScalars.allSatisfy { plain($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// An IANA zone from the system tz database. `TimeZone(identifier:)` also takes
    /// abbreviations and offsets such as `EST` or `GMT+2`, which have no DST rules a user of
    /// `timezone:` means: only names found in the database (or UTC) are accepted.
    static func timeZone(named name: String) -> TimeZone? {
        if name == "UTC" || name == "Etc/UTC" { return TimeZone(identifier: "UTC") }
        guard name.contains("/") || TimeZone.knownTimeZoneIdentifiers.contains(name) else { return nil }
        guard let zone = TimeZone(identifier: name), zone.identifier == name else { return nil }
        return zone
    }
}
