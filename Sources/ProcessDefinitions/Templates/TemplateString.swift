/// A string from a definition that may hold `{{...}}` templates, already split into parts.
///
/// Rendering replaces each template inside the one string it stands in: a value is never split,
/// never passed through a shell, and never expanded a second time (a value that itself contains
/// `{{...}}` is inserted as it is).
public struct TemplateString: Sendable, Hashable, CustomStringConvertible {
    public enum Reference: Sendable, Hashable {
        case input(String)  // {{inputs.NAME}}
        case processID  // {{process_id}}
        case workDir  // {{work_dir}}
        case taskOutput(task: String, key: String)  // {{tasks.NAME.output.KEY}}
    }

    public enum Part: Sendable, Hashable {
        case literal(String)
        case reference(Reference)
    }

    public var parts: [Part]
    /// The text as written in the definition.
    public var source: String

    public init(parts: [Part], source: String) {
        self.parts = parts
        self.source = source
    }

    /// A string with no template in it.
    public init(literal: String) {
        self.parts = literal.isEmpty ? [] : [.literal(literal)]
        self.source = literal
    }

    public var description: String { source }

    public var references: [Reference] {
        parts.compactMap { if case .reference(let reference) = $0 { reference } else { nil } }
    }

}

/// The values a task's templates are rendered with.
public struct TemplateContext: Sendable {
    public var processID: String
    public var workDir: String
    public var inputs: [String: JSONValue]
    /// Outputs of the tasks that have succeeded, by task name.
    public var taskOutputs: [String: [String: JSONValue]]

    public init(
        processID: String, workDir: String, inputs: [String: JSONValue], taskOutputs: [String: [String: JSONValue]]
    ) {
        self.processID = processID
        self.workDir = workDir
        self.inputs = inputs
        self.taskOutputs = taskOutputs
    }
}

/// A template whose value is not there when the task starts (an optional input left out, an
/// output key the needed task did not print).
public struct TemplateRenderError: Error, Sendable, CustomStringConvertible {
    public var template: String
    public var message: String
    public var description: String { "\(template): \(message)" }
}

extension TemplateString {
    /// The string with every template replaced. Strings are inserted as they are; any other
    /// value as compact JSON.
    /// - Throws: `TemplateRenderError` when a referenced value is missing.
    public func render(_ context: TemplateContext) throws(TemplateRenderError) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .literal(let text):
                result += text
            case .reference(let reference):
                let value = try Self.value(of: reference, in: context)
                // No argument or variable can hold a NUL byte: say so instead of failing the spawn.
                if value.utf8.contains(0) {
                    throw TemplateRenderError(
                        template: reference.source,
                        message:
                            "the value contains a NUL character (\\u0000), which no command argument or environment variable can hold"
                    )
                }
                result += value
            }
        }
        return result
    }

    static func value(of reference: Reference, in context: TemplateContext) throws(TemplateRenderError) -> String {
        switch reference {
        case .processID:
            return context.processID
        case .workDir:
            return context.workDir
        case .input(let name):
            guard let value = context.inputs[name] else {
                throw TemplateRenderError(
                    template: "{{inputs.\(name)}}",
                    message: "the request has no input '\(name)' and the definition gives no default")
            }
            return value.templateText
        case .taskOutput(let task, let key):
            guard let output = context.taskOutputs[task] else {
                throw TemplateRenderError(
                    template: "{{tasks.\(task).output.\(key)}}", message: "task '\(task)' printed no JSON output")
            }
            guard let value = output[key] else {
                throw TemplateRenderError(
                    template: "{{tasks.\(task).output.\(key)}}",
                    message: "the output of task '\(task)' has no key '\(key)'")
            }
            return value.templateText
        }
    }
}

extension TemplateString.Reference {
    /// The template as written: `{{inputs.NAME}}`, `{{tasks.NAME.output.KEY}}`, ...
    public var source: String {
        switch self {
        case .input(let name): "{{inputs.\(name)}}"
        case .processID: "{{process_id}}"
        case .workDir: "{{work_dir}}"
        case .taskOutput(let task, let key): "{{tasks.\(task).output.\(key)}}"
        }
    }
}

extension JSONValue {
    /// How a value is inserted into a template or an `SPOOL_INPUT_*` variable: strings as they
    /// are, everything else as compact JSON.
    public var templateText: String {
        if case .string(let text) = self { return text }
        return compactJSON
    }

    /// Compact JSON text, keys sorted so that the same value always gives the same text.
    public var compactJSON: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value):
            if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        case .string(let value): return Self.quoted(value)
        case .array(let values): return "[" + values.map(\.compactJSON).joined(separator: ",") + "]"
        case .object(let members):
            return "{"
                + members.keys.sorted().map { Self.quoted($0) + ":" + members[$0]!.compactJSON }.joined(separator: ",")
                + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
