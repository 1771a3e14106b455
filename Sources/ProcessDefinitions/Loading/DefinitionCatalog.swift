import Foundation

/// Every definition of a definitions directory, and the problems of those that did not load.
///
/// The runner loads the catalog at start and on reload. A broken file costs only its own
/// process type: the others still load, and the errors are shown (`runner.json`, the CLI) so the
/// user can fix them, while requests for the broken type are rejected with the reason.
public struct DefinitionCatalog: Sendable {
    /// Loaded definitions by process type.
    public var definitions: [String: ProcessDefinition]
    /// Problems of the files that did not load, file by file in name order.
    public var errors: [DefinitionError]

    public init(definitions: [String: ProcessDefinition] = [:], errors: [DefinitionError] = []) {
        self.definitions = definitions
        self.errors = errors
    }

    /// Loads every `*.yaml` and `*.yml` file directly inside `directory`, in name order.
    ///
    /// Subdirectories are not searched (scripts often live there) and names starting with `.`
    /// are skipped (editor swap files, `.gitkeep`). Two files for one type (`a.yaml` and
    /// `a.yml`) are an error and neither is loaded: which one was meant is not for us to guess.
    public static func load(directory: String) -> DefinitionCatalog {
        var catalog = DefinitionCatalog()
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
            let names = try? manager.contentsOfDirectory(atPath: directory)
        else {
            catalog.errors.append(
                DefinitionError(
                    code: .unreadableFile, file: directory, line: 1, column: 1,
                    message:
                        "the definitions directory does not exist or cannot be read; create it or point --definitions at the right one"
                ))
            return catalog
        }
        let files = names.sorted().filter { name in
            guard !name.hasPrefix("."), DefinitionLoader.fileExtensions.contains((name as NSString).pathExtension)
            else { return false }
            var isDirectory: ObjCBool = false
            let path = (directory as NSString).appendingPathComponent(name)
            return manager.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        let byType = Dictionary(grouping: files) { DefinitionLoader.processType(ofFile: $0) }
        for name in files {
            let path = (directory as NSString).appendingPathComponent(name)
            let type = DefinitionLoader.processType(ofFile: name)
            let siblings = byType[type] ?? []
            guard siblings.count == 1 else {
                if siblings.first == name {
                    catalog.errors.append(
                        DefinitionError(
                            code: .duplicateName, file: path, line: 1, column: 1, key: "process_type",
                            message:
                                "process type '\(type)' is defined by several files (\(siblings.joined(separator: ", "))); keep one, neither is loaded"
                        ))
                }
                continue
            }
            switch DefinitionLoader.load(file: path, baseDirectory: directory) {
            case .success(let definition): catalog.definitions[type] = definition
            case .failure(let list): catalog.errors += list.errors
            }
        }
        return catalog
    }
}

extension DefinitionCatalog {
    /// This catalog, with the previous version of each type whose file no longer loads.
    ///
    /// On a reload, a definition being edited (half saved, a typo) must not take its process
    /// type away from the requests still arriving: the type keeps running on the version that
    /// last loaded, and the file's errors are reported until it is fixed. A type whose file
    /// was removed is gone.
    /// - Returns: the merged catalog and the types that kept their previous version.
    public func keepingPrevious(_ previous: DefinitionCatalog) -> (catalog: DefinitionCatalog, kept: [String]) {
        var merged = self
        var kept: [String] = []
        let failedTypes = Set(errors.map { DefinitionLoader.processType(ofFile: $0.file) })
        for type in failedTypes.sorted() where merged.definitions[type] == nil {
            guard let old = previous.definitions[type] else { continue }
            merged.definitions[type] = old
            kept.append(type)
        }
        return (merged, kept)
    }
}
