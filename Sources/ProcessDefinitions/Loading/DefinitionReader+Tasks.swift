import Foundation
import Yams

extension DefinitionReader {
    static let taskKeys = [
        "name", "run", "shell", "sleep", "mode", "needs", "timeout", "retry", "env", "idempotent",
        "continue_on_failure",
    ]
    static let actionKeys = ["run", "shell", "sleep"]
    static let retryKeys = ["max_attempts", "backoff", "max_backoff"]
    static let namePattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"

    /// The tasks of `tasks:` or `on_failure:`, each read as far as it can be.
    mutating func readTaskList(_ node: Node, at path: String) -> [TaskDraft] {
        guard let items = list(node, at: path, of: "tasks (each a mapping with a name and one of run, shell or sleep)")
        else {
            return []
        }
        return items.enumerated().compactMap { index, item in readTask(item, at: "\(path)[\(index)]") }
    }

    mutating func readTask(_ node: Node, at path: String) -> TaskDraft? {
        guard let fields = fields(of: node, at: path, allowed: Self.taskKeys, what: "a task") else { return nil }
        var task = TaskDraft(path: path, node: node)
        if let nameNode = fields["name"] {
            task.nameNode = nameNode
            task.name = taskName(nameNode, at: "\(path).name")
            task.writtenName = nameNode.scalar?.string
        } else {
            report(.missingField, at: node, key: path, "a task needs a name: letters, digits, _, . and -")
        }
        readAction(fields, into: &task)
        if let node = fields["mode"], let mode = choice(node, at: "\(path).mode", among: ["sync", "async"]) {
            task.mode = TaskDefinition.Mode(rawValue: mode) ?? .sync
        }
        if let node = fields["needs"] { readNeeds(node, into: &task) }
        if let node = fields["timeout"] { task.timeout = duration(node, at: "\(path).timeout", allowZero: false) }
        if let node = fields["retry"], let retry = readRetry(node, at: "\(path).retry") { task.retry = retry }
        if let node = fields["env"] { readEnvironment(node, into: &task) }
        if let node = fields["idempotent"], let value = bool(node, at: "\(path).idempotent") { task.idempotent = value }
        if let node = fields["continue_on_failure"], let value = bool(node, at: "\(path).continue_on_failure") {
            task.continueOnFailure = value
        }
        return task
    }

    mutating func taskName(_ node: Node, at path: String) -> String? {
        guard let name = string(node, at: path, what: "a task name") else { return nil }
        guard name.range(of: Self.namePattern, options: .regularExpression) != nil else {
            report(
                .invalidValue, at: node, key: path,
                "task name '\(name)' is not valid: use letters, digits, _, . and - (matching \(Self.namePattern))")
            return nil
        }
        return name
    }

    /// Exactly one of `run`, `shell`, `sleep`.
    mutating func readAction(_ fields: Fields, into task: inout TaskDraft) {
        // In file order, so that the error points at the second action as written.
        let present = fields.entries.map(\.name).filter { Self.actionKeys.contains($0) }
        let label = task.name.map { "task '\($0)'" } ?? "this task"
        guard present.count == 1 else {
            if present.isEmpty {
                report(
                    .actionCount, at: fields.node, key: task.path,
                    "\(label) has no action: give exactly one of run (a list: program and arguments), shell (a string) or sleep (a duration)"
                )
            } else {
                report(
                    .actionCount, at: fields.keyNode(present[1]), key: "\(task.path).\(present[1])",
                    "\(label) has both \(present.joined(separator: " and ")): give exactly one of run, shell or sleep")
            }
            return
        }
        let key = present[0]
        let node = fields[key]!
        let path = "\(task.path).\(key)"
        switch key {
        case "run":
            readRun(node, at: path, into: &task)
        case "shell":
            guard let script = string(node, at: path, what: "a shell script string") else { return }
            if TemplateString.containsTemplateMarker(script) {
                report(
                    .templateInShell, at: node, key: path,
                    "templates ({{...}}) are not allowed in shell: scripts, because a value would become shell code; pass values through environment variables such as $SPOOL_INPUT_USER_ID, or use run: with a template argument"
                )
            } else if script.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                report(.invalidValue, at: node, key: path, "the shell script is empty; write the command to run")
            } else {
                task.action = .shell(script)
            }
        default:
            if let wait = duration(node, at: path) { task.action = .sleep(wait) }
        }
    }

    /// `run: [program, arguments...]`: the program is fixed, arguments may hold templates.
    mutating func readRun(_ node: Node, at path: String, into task: inout TaskDraft) {
        guard let items = list(node, at: path, of: "strings: the program, then its arguments") else { return }
        guard !items.isEmpty else {
            report(
                .invalidValue, at: node, key: path,
                "run: is empty; give the program, then its arguments, e.g. [\"scripts/step.sh\", \"{{inputs.user_id}}\"]"
            )
            return
        }
        var argv: [TemplateString] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(item, at: itemPath) else { continue }
            if index == 0 {
                if TemplateString.containsTemplateMarker(text) {
                    report(
                        .invalidTemplate, at: item, key: itemPath,
                        "the program (run[0]) may not hold a template: name the program in the definition and pass values as arguments"
                    )
                    continue
                }
                if text.isEmpty {
                    report(.invalidValue, at: item, key: itemPath, "the program name is empty")
                    continue
                }
            }
            if let template = template(text, at: item, path: itemPath) {
                argv.append(template)
                task.templates.append((template, item, itemPath))
            }
        }
        if argv.count == items.count { task.action = .run(argv) }
    }

    mutating func template(_ text: String, at node: Node, path: String) -> TemplateString? {
        if text.utf8.contains(0) {
            report(
                .invalidValue, at: node, key: path,
                "the value holds a NUL character (\\0), which no command argument or environment variable can hold; remove it"
            )
            return nil
        }
        do {
            return try TemplateString(parsing: text)
        } catch {
            report(.invalidTemplate, at: node, key: path, error.message)
            return nil
        }
    }

    mutating func readNeeds(_ node: Node, into task: inout TaskDraft) {
        let path = "\(task.path).needs"
        task.needsNode = node
        guard let items = list(node, at: path, of: "task names") else { return }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            guard let name = string(item, at: "\(path)[\(index)]", what: "a task name") else { continue }
            names.append(name)
            task.needNodes.append(item)
        }
        task.needs = names
    }

    mutating func readRetry(_ node: Node, at path: String) -> RetryPolicy? {
        guard let fields = fields(of: node, at: path, allowed: Self.retryKeys, what: "retry") else { return nil }
        var policy = RetryPolicy()
        var valid = true
        if let node = fields["max_attempts"] {
            if let value = integer(node, at: "\(path).max_attempts", minimum: 1) {
                policy.maxAttempts = value
            } else {
                valid = false
            }
        }
        if let node = fields["backoff"] {
            if let value = duration(node, at: "\(path).backoff") { policy.backoff = value } else { valid = false }
        }
        if let node = fields["max_backoff"] {
            if let value = duration(node, at: "\(path).max_backoff") {
                policy.maxBackoff = value
            } else {
                valid = false
            }
        }
        if valid, policy.maxBackoff < policy.backoff {
            report(
                .invalidValue, at: fields["max_backoff"] ?? fields["backoff"] ?? node, key: "\(path).max_backoff",
                "max_backoff (\(DurationParser.format(policy.maxBackoff))) is shorter than backoff (\(DurationParser.format(policy.backoff))); it must be at least as long"
            )
            valid = false
        }
        return valid ? policy : nil
    }

    /// `env: {NAME: value}`: values may hold templates; `SPOOL_*` names belong to the runner.
    mutating func readEnvironment(_ node: Node, into task: inout TaskDraft) {
        let path = "\(task.path).env"
        guard case .mapping(let mapping) = node else {
            report(
                .notAMapping, at: node, key: path,
                "env must be a mapping of variable names to strings, not \(YAMLValue.describe(node))")
            return
        }
        for (key, value) in mapping {
            guard let name = string(key, at: path, what: "a variable name") else { continue }
            let entryPath = "\(path).\(name)"
            if !TemplateString.isIdentifier(name) {
                report(
                    .invalidValue, at: key, key: entryPath,
                    "'\(name)' is not a valid variable name: use letters, digits and _, not starting with a digit")
                continue
            }
            if name.hasPrefix("SPOOL_") {
                report(
                    .invalidValue, at: key, key: entryPath,
                    "variable names starting with SPOOL_ are reserved for the runner (SPOOL_PROCESS_ID, SPOOL_INPUT_<NAME>, ...); choose another name"
                )
                continue
            }
            guard let text = string(value, at: entryPath), let template = template(text, at: value, path: entryPath)
            else {
                continue
            }
            task.env.append(EnvironmentEntry(name: name, value: template))
            task.templates.append((template, value, entryPath))
        }
    }
}
