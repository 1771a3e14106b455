import Foundation
import Yams

/// Loads one definition file: the first stage that gives a process type its meaning.
///
/// The YAML is composed into Yams' node tree rather than decoded with `Codable`, because only
/// the nodes keep the line and column of each value: every error can then point at the exact
/// place to fix, and the reader can go on after one and report them all.
public enum DefinitionLoader {
    /// The file extensions of definition files.
    public static let fileExtensions = ["yaml", "yml"]

    /// Reads and checks `definitions/<process_type>.yaml`.
    ///
    /// - Parameters:
    ///   - path: the file; its name without extension is the process type.
    ///   - baseDirectory: where relative `run:` programs are resolved (the definitions directory).
    /// - Returns: the definition, or every problem of the file (codes `unreadableFile`,
    ///   `malformedYAML`, and all the checks of `DefinitionError.Code`).
    public static func load(file path: String, baseDirectory: String) -> Result<ProcessDefinition, DefinitionErrorList>
    {
        let data: Data
        switch DefinitionFile.read(path) {
        case .contents(let contents): data = contents
        case .problem(let code, let message): return failure(code, file: path, message)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return failure(.unreadableFile, file: path, "the file is not UTF-8 text")
        }
        return parse(yaml: text, file: path, baseDirectory: baseDirectory)
    }

    /// Checks definition text as if read from `file` (whose name gives the process type).
    public static func parse(yaml text: String, file: String, baseDirectory: String) -> Result<
        ProcessDefinition, DefinitionErrorList
    > {
        guard text.utf8.count <= DefinitionFile.maxBytes else {
            return failure(
                .tooLarge, file: file,
                "the definition is \(text.utf8.count) bytes; a definition is at most \(DefinitionFile.maxBytes) bytes")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return .failure(DefinitionErrorList(errors: [malformed(error, file: file)]))
        } catch {
            return failure(.malformedYAML, file: file, "the YAML cannot be read: \(error)")
        }
        if let root,
            let problem = YAMLExpansionBudget.check(
                root, file: file, limit: YAMLExpansionBudget.limit(forBytes: text.utf8.count))
        {
            return .failure(DefinitionErrorList(errors: [problem]))
        }
        var reader = DefinitionReader(file: file)
        let definition = reader.readDefinition(
            root, processType: processType(ofFile: file), baseDirectory: baseDirectory)
        if let definition, reader.errors.isEmpty {
            return .success(definition)
        }
        let sorted = reader.errors.enumerated().sorted { a, b in
            (a.element.line ?? 0, a.element.column ?? 0, a.offset) < (
                b.element.line ?? 0, b.element.column ?? 0, b.offset
            )
        }
        return .failure(DefinitionErrorList(errors: sorted.map(\.element)))
    }

    /// The process type a file defines: its name without directory and extension.
    public static func processType(ofFile path: String) -> String {
        let name = (path as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension
        return fileExtensions.contains(ext) ? (name as NSString).deletingPathExtension : name
    }

    static func failure(_ code: DefinitionError.Code, file: String, _ message: String) -> Result<
        ProcessDefinition, DefinitionErrorList
    > {
        .failure(
            DefinitionErrorList(errors: [DefinitionError(code: code, file: file, line: 1, column: 1, message: message)])
        )
    }

    /// A parser error, at the position libyaml gives.
    static func malformed(_ error: YamlError, file: String) -> DefinitionError {
        func located(_ mark: Mark, _ message: String) -> DefinitionError {
            DefinitionError(code: .malformedYAML, file: file, line: mark.line, column: mark.column, message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return located(mark, "invalid YAML: \(problem)\(during); check indentation, quotes and brackets")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return located(context.mark, "key \(keys) appears more than once in the same mapping; keep one")
        default:
            return DefinitionError(
                code: .malformedYAML, file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }
}
