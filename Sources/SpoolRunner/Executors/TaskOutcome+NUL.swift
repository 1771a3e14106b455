import ProcessDefinitions
import SpoolClient

extension TaskOutcome {
    /// The outcome as a store that cannot hold U+0000 in JSON (PostgreSQL's `jsonb`) may keep it.
    ///
    /// An output object holding U+0000 anywhere (a key or a string) cannot be committed there, and
    /// dropping it silently would lose the task's result: the attempt fails with `invalid_json`
    /// (not retried: the program prints the same again), naming the task and where the character
    /// is, and its output is not kept. The rest of the process follows the §5 failure rule, and
    /// the runner goes on. On SQLite (`allowsNUL`) nothing changes: its text column keeps
    /// `\u0000` as JSON writes it, as its intake keeps such requests.
    func storable(task: String, allowsNUL: Bool) -> TaskOutcome {
        guard !allowsNUL else { return self }
        var outcome = self
        if let output, let path = JSONValue.object(output).pathOfNUL("output") {
            outcome.output = nil
            let problem =
                "task '\(task)' printed an output object whose \(path) holds U+0000 (\\u0000), which the PostgreSQL store cannot keep (jsonb); remove the character from the task's last line of standard output, or encode the value (base64, for instance)"
            if let failure {
                outcome.failure?.message = failure.message + "; its output was not kept: " + problem
            } else {
                outcome.failure = FailureInfo(code: .invalidJSON, message: problem, task: task)
            }
        }
        // The runner's own messages never hold one; a path or a name taken from a task might.
        if let message = outcome.failure?.message, message.unicodeScalars.contains("\u{0}") {
            outcome.failure?.message = message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        }
        return outcome
    }
}

extension JSONValue {
    /// Where the first U+0000 is, as a path from `root` (`output.files[2].name`), or nil when
    /// there is none.
    func pathOfNUL(_ root: String) -> String? {
        switch self {
        case .string(let text): return text.unicodeScalars.contains("\u{0}") ? root : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let path = item.pathOfNUL("\(root)[\(index)]") { return path }
            }
            return nil
        case .object(let fields):
            for key in fields.keys.sorted() {
                let shown = key.replacingOccurrences(of: "\u{0}", with: "\\u0000")
                if key.unicodeScalars.contains("\u{0}") { return "\(root) key \"\(shown)\"" }
                if let path = fields[key]!.pathOfNUL("\(root).\(shown)") { return path }
            }
            return nil
        default: return nil
        }
    }
}
