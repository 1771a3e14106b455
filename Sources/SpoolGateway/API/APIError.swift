import FlyingFox
import ProcessDefinitions

/// An error answer: `{"error": {"code": ..., "message": ...}}` with the HTTP status its code means.
///
/// The request codes are SPEC §3's, so a client reads the same code from HTTP as from a
/// `rejected/<file>.error.json`; the others are the gateway's own.
struct APIError: Error, Sendable {
    enum Code: String, Sendable {
        // SPEC §3
        case invalidJSON = "invalid_json"
        case notAnObject = "not_an_object"
        case tooLarge = "too_large"
        case invalidProcessID = "invalid_process_id"
        case unknownProcessType = "unknown_process_type"
        case invalidInputs = "invalid_inputs"
        case duplicateProcessID = "duplicate_process_id"
        // the gateway's
        case unsupportedMediaType = "unsupported_media_type"
        case invalidQuery = "invalid_query"
        case notFound = "not_found"
        case noSuchRoute = "no_such_route"
        case methodNotAllowed = "method_not_allowed"
        case forbidden = "forbidden"
        case spoolUnavailable = "spool_unavailable"
        case storeUnavailable = "store_unavailable"

        var status: HTTPStatusCode {
            switch self {
            case .invalidJSON, .notAnObject, .invalidProcessID, .unknownProcessType, .invalidInputs, .invalidQuery:
                .badRequest
            case .tooLarge: .payloadTooLarge
            case .duplicateProcessID: .conflict
            case .unsupportedMediaType: .unsupportedMediaType
            case .notFound, .noSuchRoute: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .forbidden: .forbidden
            case .spoolUnavailable, .storeUnavailable: .serviceUnavailable
            }
        }
    }

    var code: Code
    var message: String
    var headers: [HTTPHeader: String] = [:]

    init(_ code: Code, _ message: String, headers: [HTTPHeader: String] = [:]) {
        self.code = code
        self.message = message
        self.headers = headers
    }

    var response: HTTPResponse {
        let body: JSONValue = ["error": ["code": .string(code.rawValue), "message": .string(message)]]
        var response = HTTPResponse.json(body, status: code.status)
        for (header, value) in headers { response.headers[header] = value }
        return response
    }
}
