/// Literal syntax for `JSONValue`, so that requests and expected inputs read like JSON in code
/// and tests: `["user_id": "user_1", "seats": 3]`.
///
/// `nil` is deliberately not a literal: with `[String: JSONValue]`, `dict[key] = nil` must keep
/// meaning "remove the key", not "store JSON null". Write `.null` for that.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
