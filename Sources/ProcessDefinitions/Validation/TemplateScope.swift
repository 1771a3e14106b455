/// What the templates of one task may refer to.
///
/// `{{inputs.NAME}}` needs a declared input (any name with `additional_inputs: true`);
/// `{{tasks.NAME.output.KEY}}` needs a task this one waits for, directly or through others,
/// because only then is that output certain to exist when this task starts.
struct TemplateScope {
    struct Inputs {
        var names: Set<String>
        var additional: Bool
    }

    var inputs: Inputs
    /// Whether this task waits for the named task, directly or transitively.
    var waitsFor: (String) -> Bool
    /// Every task name of the definition, to tell "no such task" from "not waited for".
    var allTasks: Set<String>
    /// `tasks` or `on_failure`: the list the task is in, for messages.
    var listName: String

    /// Why `reference` may not be used here, or nil when it may.
    func problem(with reference: TemplateString.Reference) -> String? {
        switch reference {
        case .processID, .workDir:
            return nil
        case .input(let name):
            guard !inputs.additional, !inputs.names.contains(name) else { return nil }
            let declared =
                inputs.names.isEmpty
                ? "no inputs are declared" : "declared inputs: \(inputs.names.sorted().joined(separator: ", "))"
            return
                "{{inputs.\(name)}} names an input that is not declared (\(declared)); declare it under inputs: or set additional_inputs: true"
        case .taskOutput(let task, let key):
            let template = "{{tasks.\(task).output.\(key)}}"
            if waitsFor(task) { return nil }
            guard allTasks.contains(task) else {
                return
                    "\(template) names no task of this definition; tasks: \(allTasks.sorted().joined(separator: ", "))"
            }
            let scope = listName == "on_failure" ? " (on_failure tasks can only wait for other on_failure tasks)" : ""
            return
                "\(template) names task '\(task)', which this task does not wait for, so its output may not exist yet; add it to this task's needs:\(scope)"
        }
    }
}
