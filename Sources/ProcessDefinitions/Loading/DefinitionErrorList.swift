/// Every problem found in one definition file, in file order.
///
/// A file is reported whole so that the user fixes all of it in one edit, not one error per run.
public struct DefinitionErrorList: Error, Sendable, CustomStringConvertible {
    public var errors: [DefinitionError]

    public init(errors: [DefinitionError]) {
        self.errors = errors
    }

    /// One error per line, `file:line:column: key: message`.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
