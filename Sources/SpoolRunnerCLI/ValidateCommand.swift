import ArgumentParser
import ProcessDefinitions

/// `spoolrunner validate`: loads every definition; usable in a definitions repository's CI.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check every definition; print each error as file:line:column: message; exit 1 if any."
    )

    @OptionGroup var definitions: DefinitionsOptions

    func run() throws {
        let catalog = DefinitionCatalog.load(directory: definitions.definitions)
        for error in catalog.errors {
            print(error.description)
        }
        if !catalog.errors.isEmpty {
            throw ExitStatus.failed
        }
        // Not errors: the definition runs, and each slot is rejected invalid_inputs like any
        // request with those inputs would be.
        for definition in catalog.definitions.values.sorted(by: { $0.processType < $1.processType }) {
            for case let problem? in definition.schedule.map(\.inputsProblem) {
                print("\(problem.file):\(problem.line ?? 0):\(problem.column ?? 0): warning: \(problem.key.map { "\($0): " } ?? "")\(problem.message)")
            }
        }
        let names = catalog.definitions.keys.sorted()
        print("\(names.count) definition(s) valid in \(definitions.definitions): \(names.joined(separator: ", "))")
    }
}
