import Yams

/// A task as read from YAML, before the checks that need the whole definition.
///
/// Names, dependencies and template references can only be checked once every task has been
/// read, so the loader first reads each task into a draft that remembers where its parts were
/// written; the drafts become `TaskDefinition`s when nothing is wrong.
struct TaskDraft {
    /// `tasks[2]` or `on_failure[0]`.
    var path: String
    /// The task's mapping, where problems of the whole task are reported.
    var node: Node
    /// The name, when valid.
    var name: String?
    /// The name as written, valid or not: `needs` naming a task whose name is malformed is not
    /// reported a second time as an unknown dependency.
    var writtenName: String?
    var nameNode: Node?
    var mode: TaskDefinition.Mode = .sync
    var action: TaskDefinition.Action?
    var needs: [String]?
    var needsNode: Node?
    /// The node of each `needs` element, for unknown-dependency errors.
    var needNodes: [Node] = []
    var timeout: Duration?
    var retry = RetryPolicy()
    var env: [EnvironmentEntry] = []
    var idempotent = true
    var continueOnFailure = false
    /// Every parsed template string with where it was written, for the reference checks.
    var templates: [(template: TemplateString, node: Node, path: String)] = []

    init(path: String, node: Node) {
        self.path = path
        self.node = node
    }

    /// The definition, once the loader has resolved the dependencies.
    func definition(dependencies: [String]) -> TaskDefinition? {
        guard let name, let action else { return nil }
        return TaskDefinition(
            name: name, mode: mode, action: action, needs: needs, dependencies: dependencies,
            timeout: timeout, retry: retry, env: env, idempotent: idempotent,
            continueOnFailure: continueOnFailure)
    }
}
