/// One entry of a definition's `inputs:` map.
public struct InputDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case string, integer, number, boolean, object, array
    }

    public var name: String
    public var type: Kind
    public var required: Bool
    /// Applied when the request does not name this input.
    public var defaultValue: JSONValue?
    public var enumValues: [JSONValue]?
    /// For strings: a regular expression the whole value must match.
    public var pattern: String?
    /// For integers and numbers.
    public var min: Double?
    public var max: Double?
    /// For strings, in characters.
    public var maxLength: Int?

    public init(
        name: String, type: Kind, required: Bool = false, defaultValue: JSONValue? = nil,
        enumValues: [JSONValue]? = nil, pattern: String? = nil, min: Double? = nil, max: Double? = nil,
        maxLength: Int? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.enumValues = enumValues
        self.pattern = pattern
        self.min = min
        self.max = max
        self.maxLength = maxLength
    }
}
