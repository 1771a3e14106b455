import Yams

/// Reads one composed YAML document into a `ProcessDefinition`, collecting every problem.
///
/// Each reading step reports what is wrong and carries on with what it can, so that one pass
/// shows the user every mistake in the file, each at its line and column with its key path.
/// The typed accessors (`string`, `bool`, `integer`, `duration`, ...) return nil after
/// reporting; callers just skip what is missing.
struct DefinitionReader {
    /// The file name used in every error.
    let file: String
    private(set) var errors: [DefinitionError] = []

    init(file: String) {
        self.file = file
    }

    /// Records a problem at `node` (line 1, column 1 when there is no node).
    mutating func report(_ code: DefinitionError.Code, at node: Node?, key: String?, _ message: String) {
        let mark = node?.mark
        errors.append(
            DefinitionError(
                code: code, file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                key: key.flatMap { $0.isEmpty ? nil : $0 }, message: message))
    }

    mutating func append(_ error: DefinitionError) {
        errors.append(error)
    }

    /// The entries of a mapping node, by key text, checked against the keys valid there.
    ///
    /// Unknown keys are reported one by one with the valid keys (and the closest one, for typos);
    /// a node that is not a mapping is reported as `notAMapping` and gives nil. YAML merge keys
    /// (`<<: *defaults`) are honoured, keys written in the mapping itself taking precedence.
    mutating func fields(of node: Node, at path: String, allowed: [String], what: String) -> Fields? {
        guard case .mapping(let mapping) = node else {
            report(
                .notAMapping, at: node, key: path,
                "\(what) must be a mapping of keys to values, not \(YAMLValue.describe(node)); valid keys: \(allowed.joined(separator: ", "))"
            )
            return nil
        }
        var fields = Fields(node: node)
        collect(mapping, at: path, allowed: allowed, what: what, into: &fields)
        return fields
    }

    private mutating func collect(
        _ mapping: Node.Mapping, at path: String, allowed: [String], what: String, into fields: inout Fields
    ) {
        var mergeSources: [Node] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(.invalidValue, at: key, key: path, "a key must be a plain name, not \(YAMLValue.describe(key))")
                continue
            }
            let name = scalar.string
            if name == "<<", scalar.style == .plain {
                if case .sequence(let sources) = value { mergeSources += sources } else { mergeSources.append(value) }
                continue
            }
            guard !fields.has(name) else { continue }
            guard allowed.contains(name) else {
                var message = "unknown key '\(name)' in \(what)"
                if let guess = Self.closest(to: name, among: allowed) { message += " (did you mean '\(guess)'?)" }
                message += "; valid keys: \(allowed.joined(separator: ", "))"
                report(.unknownField, at: key, key: Self.join(path, name), message)
                continue
            }
            fields.entries.append((name, key, value))
        }
        for source in mergeSources {
            guard case .mapping(let merged) = source else {
                report(
                    .notAMapping, at: source, key: Self.join(path, "<<"),
                    "a merge key (<<) takes a mapping or a list of mappings, such as *defaults; got \(YAMLValue.describe(source))"
                )
                continue
            }
            collect(merged, at: path, allowed: allowed, what: what, into: &fields)
        }
    }

    /// The valid key nearest to a misspelt one, when it is close enough to be the likely intent:
    /// up to two edits away (three for names of five letters or more).
    static func closest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(name.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let allowed = best.0.count >= 5 ? 3 : 2
        return best.1 <= allowed && best.1 < name.count ? best.0 : nil
    }

    /// Levenshtein distance: the number of single-character edits from `a` to `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// `path.key`, or `key` at the top.
    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

/// The entries of one YAML mapping whose keys have been checked.
struct Fields {
    /// The mapping itself: where "missing key" problems are reported.
    var node: Node
    var entries: [(name: String, key: Node, value: Node)] = []

    init(node: Node) {
        self.node = node
    }

    subscript(name: String) -> Node? {
        entries.first { $0.name == name }?.value
    }

    func keyNode(_ name: String) -> Node? {
        entries.first { $0.name == name }?.key
    }

    func has(_ name: String) -> Bool { self[name] != nil }
}
