import ArgumentParser
import Foundation
import SpoolRunner

extension JSONSchema: ExpressibleByArgument {}

/// `spoolrunner schema request|status|definition`: prints a JSON Schema (draft-07).
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft-07) of a file format: request, status or definition.",
        discussion: """
            For editors: with the YAML extension of VS Code (yaml-language-server), a definition \
            that starts with the line `# yaml-language-server: $schema=./definition.schema.json` is \
            completed and checked as you type. `spoolrunner init` writes definition.schema.json \
            next to the definitions; `spoolrunner validate` warns when that copy is not this \
            binary's.

              spoolrunner schema definition > definitions/definition.schema.json
            """
    )

    @Argument(help: ArgumentHelp("Which format.", valueName: "request|status|definition"))
    var format: JSONSchema

    func run() throws {
        FileHandle.standardOutput.write(Data(format.text.utf8))
    }
}
