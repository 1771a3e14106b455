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
        let names = catalog.definitions.keys.sorted()
        print("\(names.count) definition(s) valid in \(definitions.definitions): \(names.joined(separator: ", "))")
    }
}
