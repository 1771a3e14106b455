/// What the router made of a request line: an endpoint with its parameters, a path that exists
/// under another method, or nothing.
enum RouteMatch: Equatable {
    case endpoint(Endpoint, parameters: [String: String])
    case methodNotAllowed(allowed: [Endpoint.Method])
    case notFound
}
