import Foundation
import ProcessDefinitions

/// The text of each definition file in force, for a shared store: it keeps the YAML every
/// process was accepted with, so that whichever runner executes it parses the same definition
/// (SPEC §9).
package enum DefinitionTexts {
    /// process type → the text of `directory/<type>.yaml` (or `.yml`), for `types`. A file that
    /// cannot be read now is left out (its type keeps what the store has).
    package static func read(directory: String, types: some Sequence<String>) -> [String: String] {
        var texts: [String: String] = [:]
        for type in types {
            for fileExtension in DefinitionLoader.fileExtensions {
                if let text = try? String(contentsOfFile: "\(directory)/\(type).\(fileExtension)", encoding: .utf8) {
                    texts[type] = text
                    break
                }
            }
        }
        return texts
    }
}
