/// The `error` object of a status file, a task row or a process row:
/// `{"code": ..., "message": ..., "task": ...}`.
public struct FailureInfo: Codable, Sendable, Hashable {
    public var code: FailureCode
    public var message: String
    public var task: String?

    public init(code: FailureCode, message: String, task: String? = nil) {
        self.code = code
        self.message = message
        self.task = task
    }

    // Encoded with an explicit null for `task`, so that every status file has the same keys.
    enum CodingKeys: String, CodingKey { case code, message, task }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        try container.encode(task, forKey: .task)
    }
}
