/// A problem in a definition file, located at its line and column.
///
/// `description` is `file:line:column: message`, the shape editors and CI logs understand.
public struct DefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unreadableFile  // the file cannot be read
        case malformedYAML  // the YAML parser failed
        case notAMapping  // a value that must be a mapping is not
        case missingField  // a required key is absent
        case unknownField  // a key that means nothing here (typo)
        case invalidValue  // wrong type or out of range
        case typeMismatch  // processType differs from the file name, or a default/enum of the wrong type
        case duplicateName  // two tasks with one name, or an on_failure task reusing a task's name
        case unknownDependency  // needs names a task that does not exist
        case cycle  // needs form a cycle; the message names it
        case invalidTemplate  // a template that cannot be parsed or names what it may not
        case templateInShell  // a template inside shell:
        case invalidDuration
        case invalidCron
        case invalidPattern  // a pattern that is not a valid regular expression
        case actionCount  // not exactly one of run / shell / sleep
        case programNotFound  // a run: program that does not exist (checked by `validate`)
        case programNotExecutable  // a run: program without execute permission (checked by `validate`)
        case tooLarge  // a file over the size limit, or aliases that expand past the value limit
    }

    public var code: Code
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The key path of the offending value, e.g. `tasks[2].retry.max_attempts`.
    public var key: String?
    public var message: String

    public init(code: Code, file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        "\(file):\(line ?? 0):\(column ?? 0): \(key.map { "\($0): " } ?? "")\(message)"
    }
}
