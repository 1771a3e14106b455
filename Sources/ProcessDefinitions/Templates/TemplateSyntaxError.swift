/// Why a string's `{{...}}` templates could not be read: an unclosed `{{` or a reference that
/// is none of `inputs.NAME`, `process_id`, `work_dir`, `tasks.NAME.output.KEY`.
public struct TemplateSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
