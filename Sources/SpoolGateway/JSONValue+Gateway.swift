import ProcessDefinitions

/// FlyingFox has a `JSONValue` of its own; in this module the name means the project's, the one
/// status files, requests and the store's JSON columns are read with.
typealias JSONValue = ProcessDefinitions.JSONValue
