import Foundation
import ProcessDefinitions

/// The YAML fixtures copied into the test bundle (`resources: [.copy("Fixtures")]`).
enum Fixtures {
    static var directory: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    }

    static func path(_ group: String, _ name: String) -> String {
        "\(directory)/\(group)/\(name)"
    }

    /// The YAML files of one group (`valid`, `invalid`), sorted.
    static func files(_ group: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(group)")) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }

    static func load(_ group: String, _ name: String) -> Result<ProcessDefinition, DefinitionErrorList> {
        DefinitionLoader.load(file: path(group, name), baseDirectory: "\(directory)/\(group)")
    }
}

/// Loads definition text as if it were `definitions/<type>.yaml`.
func parseDefinition(_ yaml: String, type: String = "sample") -> Result<ProcessDefinition, DefinitionErrorList> {
    DefinitionLoader.parse(yaml: yaml, file: "\(type).yaml", baseDirectory: "/definitions")
}

extension Result {
    var value: Success? { if case .success(let value) = self { value } else { nil } }
    var error: Failure? { if case .failure(let error) = self { error } else { nil } }
}

/// A fresh empty directory under the system's temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let path = NSTemporaryDirectory() + "definitions-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}
