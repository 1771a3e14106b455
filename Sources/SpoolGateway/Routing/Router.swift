import Foundation

/// Matches the raw, percent-encoded request path against `Endpoint`'s table.
///
/// It works on the path exactly as the client sent it (FlyingFox's `request.path` is already
/// decoded and dot-normalised, which would turn `logs/..%2F..%2Fhistory.sqlite` into another
/// path). Each segment is decoded on its own; a segment that decodes to `.`, `..`, or holds a `/`,
/// a `\` or a NUL matches nothing, so no parameter can ever name a path outside its directory.
enum Router {
    static func match(method: String, rawPath: String) -> RouteMatch {
        guard rawPath.hasPrefix("/") else { return .notFound }
        var segments: [String] = []
        for raw in rawPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let decoded = String(raw).removingPercentEncoding,
                decoded != ".", decoded != "..",
                !decoded.contains("/"), !decoded.contains("\\"), !decoded.contains("\0")
            else { return .notFound }
            segments.append(decoded)
        }
        var allowed: [Endpoint.Method] = []
        for endpoint in Endpoint.allCases {
            guard let parameters = bind(endpoint.segments, to: segments) else { continue }
            if endpoint.method.rawValue == method || (method == "HEAD" && endpoint.method == .GET) {
                return .endpoint(endpoint, parameters: parameters)
            }
            allowed.append(endpoint.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func bind(_ template: [String], to segments: [String]) -> [String: String]? {
        guard template.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (pattern, segment) in zip(template, segments) {
            if pattern.hasPrefix("{") && pattern.hasSuffix("}") {
                guard !segment.isEmpty else { return nil }
                parameters[String(pattern.dropFirst().dropLast())] = segment
            } else if pattern != segment {
                return nil
            }
        }
        return parameters
    }
}
