import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner validate`: loads every definition; usable in a definitions repository's CI.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check every definition; print each error as file:line:column: message; exit 1 if any.",
        discussion: """
            Beyond what the runner checks when it loads a definition, validate also checks that \
            every run: program exists and is executable (a relative path against the definitions \
            directory, a bare name in PATH), and that the directory holds at least one definition.
            """
    )

    @OptionGroup var definitions: DefinitionsOptions

    func run() throws {
        let catalog = DefinitionCatalog.load(directory: definitions.definitions)
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        var errors = catalog.errors
        for name in catalog.definitions.keys.sorted() {
            errors += catalog.definitions[name]!.programProblems(searchPath: searchPath)
        }
        for error in errors {
            print(error.description)
        }
        if !errors.isEmpty {
            throw ExitStatus.failed
        }
        // Not errors: the definition runs, and each slot is rejected invalid_inputs like any
        // request with those inputs would be.
        for definition in catalog.definitions.values.sorted(by: { $0.processType < $1.processType }) {
            for case let problem? in definition.schedule.map(\.inputsProblem) {
                print(
                    "\(problem.file):\(problem.line ?? 0):\(problem.column ?? 0): warning: \(problem.key.map { "\($0): " } ?? "")\(problem.message)"
                )
            }
        }
        let names = catalog.definitions.keys.sorted()
        guard !names.isEmpty else {
            // An empty directory is almost always the wrong --definitions: say so, fail.
            print(
                "\(definitions.definitions): no definitions (*.yaml, *.yml) found; point --definitions at the right directory"
            )
            throw ExitStatus.failed
        }
        let schema = (definitions.definitions as NSString).appendingPathComponent(JSONSchema.definition.fileName)
        if let copy = FileManager.default.contents(atPath: schema), copy != Data(JSONSchema.definition.text.utf8) {
            // A warning, not a failure: the definitions are fine, only the editor help is stale.
            FileHandleOutput.write(
                "spoolrunner: warning: \(schema) differs from this binary's schema; refresh it: spoolrunner schema definition > \(schema)\n"
            )
        }
        print("\(names.count) definition(s) valid in \(definitions.definitions): \(names.joined(separator: ", "))")
    }
}
