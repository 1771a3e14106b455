/// Why a request's inputs were refused: one problem per offending field.
///
/// The intake writes `message` into the rejection file, so each problem names the field and says
/// what was expected: the user fixes every field in one go instead of one per submission.
public struct InputValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    /// The problems joined by `; `.
    public var message: String { problems.joined(separator: "; ") }

    public var description: String { message }
}
