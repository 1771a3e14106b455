import Foundation

extension TemplateString {
    /// The forms a reference may take, for error messages.
    public static let validReferences = "{{inputs.NAME}}, {{process_id}}, {{work_dir}} or {{tasks.NAME.output.KEY}}"

    /// Splits `text` into literal text and `{{ reference }}` parts; spaces inside the braces are
    /// allowed. Text outside `{{...}}` stays as written, single braces included.
    ///
    /// Only the syntax is checked here. Whether an input is declared or a task is a dependency
    /// depends on the definition around the string, which the loader checks.
    /// - Throws: `TemplateSyntaxError` for an unclosed `{{` or an unknown reference.
    public init(parsing text: String) throws(TemplateSyntaxError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex {
                parts.append(.literal(String(rest[..<open.lowerBound])))
            }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                throw TemplateSyntaxError(
                    message: "'{{' at \"\(rest[open.lowerBound...].prefix(30))\" is never closed with '}}'")
            }
            let inner = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            parts.append(.reference(try Self.reference(parsing: inner)))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.init(parts: parts, source: text)
    }

    /// Whether `text` holds `{{` at all: `shell:` strings may not, whatever follows.
    public static func containsTemplateMarker(_ text: String) -> Bool {
        text.contains("{{")
    }

    static func reference(parsing inner: String) throws(TemplateSyntaxError) -> Reference {
        func unknown(_ why: String = "") -> TemplateSyntaxError {
            TemplateSyntaxError(message: "unknown template {{\(inner)}}\(why); valid: \(validReferences)")
        }
        switch inner {
        case "process_id": return .processID
        case "work_dir": return .workDir
        default: break
        }
        if inner.hasPrefix("inputs.") {
            let name = String(inner.dropFirst("inputs.".count))
            guard Self.isIdentifier(name) else {
                throw unknown(": '\(name)' is not an input name (letters, digits and _, not starting with a digit)")
            }
            return .input(name)
        }
        if inner.hasPrefix("tasks.") {
            let rest = inner.dropFirst("tasks.".count)
            guard let marker = rest.range(of: ".output.", options: .backwards) else {
                throw unknown(": a task reference reads tasks.NAME.output.KEY")
            }
            let task = String(rest[..<marker.lowerBound])
            let key = String(rest[marker.upperBound...])
            guard !task.isEmpty, !key.isEmpty, !key.contains(where: \.isWhitespace),
                !task.contains(where: \.isWhitespace)
            else {
                throw unknown(": a task reference reads tasks.NAME.output.KEY")
            }
            return .taskOutput(task: task, key: key)
        }
        throw unknown()
    }

    /// `^[A-Za-z_][A-Za-z0-9_]*$`: the names that can also become `SPOOL_INPUT_<NAME>` variables.
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
    }

    static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
