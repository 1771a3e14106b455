import Yams

/// Bounds what YAML aliases can make of a small file.
///
/// An alias (`*name`) stands for the whole node its anchor names, so ten nested levels of ten
/// aliases each turn a 500-byte file into ten billion values (the "billion laughs"). The parser
/// shares those nodes, but every walk over them (reading defaults, describing a value in an
/// error) pays for each copy. The document is therefore counted once, as it would be expanded,
/// and refused as soon as it passes `maxValues`, before anything walks it.
enum YAMLExpansionBudget {
    /// The most values (scalars, lists and mappings, each alias counted as what it expands to)
    /// a definition may hold: one per byte of the file, and at least `minimumValues`. Without
    /// aliases a file cannot hold more values than bytes, so only expansion is bounded: a small
    /// file's aliases add at most 100,000 values, far beyond any hand-written use.
    static let minimumValues = 100_000

    static func limit(forBytes bytes: Int) -> Int { max(minimumValues, bytes) }

    /// The problem with `root`, or nil when it expands within the budget.
    static func check(_ root: Node, file: String, limit: Int) -> DefinitionError? {
        var remaining = limit
        // The top-level key under which the budget ran out names the place to look.
        var topLevel: [(key: String?, keyNode: Node?, value: Node)] = []
        if case .mapping(let mapping) = root {
            remaining -= 1
            for (key, value) in mapping {
                topLevel.append((key.scalar?.string, key, value))
            }
        } else {
            topLevel.append((nil, nil, root))
        }
        for entry in topLevel {
            if let overflow = consume(entry.value, budget: &remaining) {
                let at = entry.keyNode?.mark ?? overflow.mark
                let inner = overflow.mark.map { " (the count ran out at line \($0.line), column \($0.column))" } ?? ""
                return DefinitionError(
                    code: .tooLarge, file: file, line: at?.line ?? 1, column: at?.column ?? 1, key: entry.key,
                    message:
                        "this value expands to more than \(limit) values through YAML aliases (*name repeats what &name names)\(inner); a definition may not grow past that: write the values out or use fewer nested aliases"
                )
            }
        }
        return nil
    }

    /// Walks `node` as if expanded, one unit per value; returns the node being counted when the
    /// budget runs out.
    private static func consume(_ node: Node, budget: inout Int) -> Node? {
        var stack: [Node] = [node]
        while let next = stack.popLast() {
            budget -= 1
            if budget < 0 { return next }
            switch next {
            case .scalar, .alias:
                continue
            case .sequence(let sequence):
                stack.append(contentsOf: sequence)
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append(key)
                    stack.append(value)
                }
            }
        }
        return nil
    }
}
