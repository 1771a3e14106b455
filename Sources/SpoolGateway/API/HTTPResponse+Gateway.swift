import FlyingFox
import Foundation
import ProcessDefinitions

extension HTTPResponse {
    /// No scripts, no frames, nothing from elsewhere: the pages are plain server-rendered HTML
    /// with one same-origin stylesheet, and forms post back to the gateway only.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func json(_ value: JSONValue, status: HTTPStatusCode = .ok, headers: [HTTPHeader: String] = [:])
        -> HTTPResponse
    {
        raw(Data((value.compactJSON + "\n").utf8), type: "application/json", status: status, headers: headers)
    }

    static func html(_ page: String, status: HTTPStatusCode = .ok) -> HTTPResponse {
        raw(Data(page.utf8), type: "text/html; charset=utf-8", status: status)
    }

    static func raw(_ body: Data, type: String, status: HTTPStatusCode = .ok, headers: [HTTPHeader: String] = [:])
        -> HTTPResponse
    {
        var all: [HTTPHeader: String] = [
            .contentType: type,
            HTTPHeader("Content-Security-Policy"): contentSecurityPolicy,
            HTTPHeader("X-Content-Type-Options"): "nosniff",
            HTTPHeader("Referrer-Policy"): "no-referrer",
            HTTPHeader("X-Frame-Options"): "DENY",
            .cacheControl: "no-store",
        ]
        for (header, value) in headers { all[header] = value }
        return HTTPResponse(statusCode: status, headers: HTTPHeaders(all), body: body)
    }

    static func redirect(to location: String) -> HTTPResponse {
        raw(Data(), type: "text/plain; charset=utf-8", status: .seeOther, headers: [.location: location])
    }
}
