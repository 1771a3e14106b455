import Foundation

extension ProcessDefinition {
    /// The `run:` programs that cannot be started: missing, a directory, or not executable.
    ///
    /// Not part of loading (the runner loads definitions whose scripts may be deployed later); it
    /// is what `validate` adds, so that a typo in a program path fails in CI instead of at the
    /// task's first run as `spawn_failed`. Resolution follows the executor: a path with a slash is
    /// relative to `baseDirectory`, a bare name is looked up in `searchPath` (a PATH value).
    public func programProblems(searchPath: String) -> [DefinitionError] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        var problems: [DefinitionError] = []
        for (section, list) in [("tasks", tasks), ("on_failure", onFailure)] {
            for (index, task) in list.enumerated() {
                guard case .run(let argv) = task.action, let first = argv.first else { continue }
                let program = first.source
                let key = "\(section)[\(index)].run[0]"
                let (line, column) = Self.locate(program, afterTask: task.name, in: text)
                let resolved = resolve(program, searchPath: searchPath)
                var isDirectory: ObjCBool = false
                if let resolved, FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    if !FileManager.default.isExecutableFile(atPath: resolved) {
                        problems.append(
                            DefinitionError(
                                code: .programNotExecutable, file: file, line: line, column: column, key: key,
                                message:
                                    "task '\(task.name)': program \(resolved) is not executable; run `chmod +x \(resolved)`"
                            ))
                    }
                    continue
                }
                let looked =
                    program.contains("/") ? "looked for \(resolved ?? program)" : "not found in PATH=\(searchPath)"
                problems.append(
                    DefinitionError(
                        code: .programNotFound, file: file, line: line, column: column, key: key,
                        message:
                            "task '\(task.name)': program '\(program)' does not exist (\(looked)); a relative path is resolved against \(baseDirectory)"
                    ))
            }
        }
        return problems
    }

    private func resolve(_ program: String, searchPath: String) -> String? {
        if program.hasPrefix("/") { return program }
        if program.contains("/") {
            return URL(fileURLWithPath: baseDirectory).appendingPathComponent(program).standardizedFileURL.path
        }
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Line and column of `program` in the file: the first occurrence after the task's `name:`
    /// line (the model keeps no positions; a text search is enough for a message).
    static func locate(_ program: String, afterTask name: String, in text: String) -> (Int, Int) {
        let lines = text.components(separatedBy: "\n")
        let start = lines.firstIndex { $0.contains("name:") && $0.contains(name) } ?? 0
        for number in start..<lines.count {
            if let range = lines[number].range(of: program) {
                return (number + 1, lines[number].distance(from: lines[number].startIndex, to: range.lowerBound) + 1)
            }
        }
        return (start + 1, 1)
    }
}
