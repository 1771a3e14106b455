import Yams

extension DefinitionReader {
    /// The checks that need every task: unique names, known `needs`, no cycle, and template
    /// references to inputs and upstream outputs. Returns each task's resolved dependencies.
    mutating func resolveTasks(
        _ tasks: [TaskDraft], onFailure: [TaskDraft], inputs: TemplateScope.Inputs
    ) -> (tasks: [[String]], onFailure: [[String]]) {
        checkUniqueNames(tasks + onFailure)
        let mainNames = Set(tasks.compactMap(\.writtenName))
        let failureNames = Set(onFailure.compactMap(\.writtenName))
        let all = mainNames.union(failureNames)
        let main = resolve(tasks, in: "tasks", otherList: ("on_failure", failureNames), inputs: inputs, allTasks: all)
        let failure = resolve(
            onFailure, in: "on_failure", otherList: ("tasks", mainNames), inputs: inputs, allTasks: all)
        return (main, failure)
    }

    /// Names are unique across `tasks` and `on_failure`: status files and logs key on them.
    mutating func checkUniqueNames(_ drafts: [TaskDraft]) {
        var firstUse: [String: TaskDraft] = [:]
        for draft in drafts {
            guard let name = draft.name else { continue }
            if let first = firstUse[name] {
                let line = first.nameNode?.mark.map { " (line \($0.line))" } ?? ""
                report(
                    .duplicateName, at: draft.nameNode, key: "\(draft.path).name",
                    "task name '\(name)' is already used by \(first.path)\(line); names must be unique across tasks and on_failure"
                )
            } else {
                firstUse[name] = draft
            }
        }
    }

    /// Resolves one list's ordering and checks its `needs` and templates.
    mutating func resolve(
        _ drafts: [TaskDraft], in listName: String, otherList: (name: String, names: Set<String>),
        inputs: TemplateScope.Inputs, allTasks: Set<String>
    ) -> [[String]] {
        var position: [String: Int] = [:]
        for (index, draft) in drafts.enumerated() {
            if let name = draft.writtenName, position[name] == nil { position[name] = index }
        }
        var needs: [[Int]?] = []
        for draft in drafts {
            guard let names = draft.needs else {
                needs.append(nil)
                continue
            }
            var positions: [Int] = []
            for (index, (name, node)) in zip(names, draft.needNodes).enumerated() {
                if let target = position[name] {
                    positions.append(target)
                } else {
                    report(
                        .unknownDependency, at: node, key: "\(draft.path).needs[\(index)]",
                        unknownDependencyMessage(
                            name, in: listName, known: position.keys.sorted(), otherList: otherList))
                }
            }
            needs.append(positions)
        }
        let graph = TaskGraph(modes: drafts.map(\.mode), needs: needs)
        for cycle in graph.cycles() {
            let first = drafts[cycle[0]]
            let names = cycle.map { drafts[$0].name ?? drafts[$0].path }.joined(separator: " -> ")
            report(
                .cycle, at: first.needsNode ?? first.node, key: "\(first.path).needs",
                "tasks wait for each other in a cycle: \(names) (each waits for the next); remove one of these needs")
        }
        // "Does this task wait for task T?": a short walk back answers the usual case (T just
        // before it); otherwise one walk forward from T, cached per T. Collecting each task's
        // ancestors instead costs the square of the tasks on a long sync chain.
        var waitingFor: [String: Set<Int>] = [:]
        for (index, draft) in drafts.enumerated() where !draft.templates.isEmpty {
            let scope = TemplateScope(
                inputs: inputs,
                waitsFor: { name in
                    guard let target = position[name] else { return false }
                    if let answer = graph.waits(index, for: target, budget: 64) { return answer }
                    if waitingFor[name] == nil { waitingFor[name] = graph.descendants(of: target) }
                    return waitingFor[name]!.contains(index)
                },
                allTasks: allTasks, listName: listName)
            for (template, node, path) in draft.templates {
                for reference in template.references {
                    if let problem = scope.problem(with: reference) {
                        report(.invalidTemplate, at: node, key: path, problem)
                    }
                }
            }
        }
        return graph.dependencies.map { $0.compactMap { drafts[$0].name } }
    }

    func unknownDependencyMessage(
        _ name: String, in listName: String, known: [String], otherList: (name: String, names: Set<String>)
    ) -> String {
        if otherList.names.contains(name) {
            return listName == "on_failure"
                ? "'\(name)' is a task of tasks:, but on_failure tasks can only need other on_failure tasks (they run once the main tasks have stopped)"
                : "'\(name)' is an on_failure task, but tasks can only need other tasks of tasks: (on_failure tasks run only after a failure)"
        }
        var message = "there is no task named '\(name)' in \(listName):"
        if let guess = Self.closest(to: name, among: known) { message += " (did you mean '\(guess)'?)" }
        return message + (known.isEmpty ? "" : "; tasks there: \(known.joined(separator: ", "))")
    }
}
