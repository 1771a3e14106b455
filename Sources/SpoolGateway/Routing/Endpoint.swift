/// Every route the gateway serves: the one table that dispatch, the 405 answers and the
/// OpenAPI test read, so a route cannot be served without being documented or the reverse.
public enum Endpoint: String, CaseIterable, Sendable {
    case submit, seedStatus, processStatus, processes, events, cancel, retry, definitions
    case health, openAPI
    case dashboard, uiProcess, uiLog, uiCancel, uiRetry, uiDefinitions, stylesheet

    // HTTP spells its methods in capitals; the cases are the wire names.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    public enum Method: String, Sendable { case GET, POST }

    public var method: Method {
        switch self {
        case .submit, .cancel, .retry, .uiCancel, .uiRetry: .POST
        default: .GET
        }
    }

    /// The path in OpenAPI's template syntax; `{name}` is one path segment.
    public var path: String {
        switch self {
        case .submit: "/api/process/"
        case .seedStatus: "/process/{process_id}/status"
        case .processStatus: "/api/process/{process_id}"
        case .processes: "/api/processes"
        case .events: "/api/process/{process_id}/events"
        case .cancel: "/api/process/{process_id}/cancel"
        case .retry: "/api/process/{process_id}/retry"
        case .definitions: "/api/definitions"
        case .health: "/healthz"
        case .openAPI: "/openapi.json"
        case .dashboard: "/"
        case .uiProcess: "/ui/process/{process_id}"
        case .uiLog: "/ui/process/{process_id}/logs/{file}"
        case .uiCancel: "/ui/process/{process_id}/cancel"
        case .uiRetry: "/ui/process/{process_id}/retry"
        case .uiDefinitions: "/ui/definitions"
        case .stylesheet: "/ui/style.css"
        }
    }

    /// The template split into segments (the leading empty one dropped; a trailing slash kept as "").
    var segments: [String] {
        Array(path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init))
    }
}
