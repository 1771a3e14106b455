import FlyingFox
import Foundation
import Logging
import ProcessDefinitions
import SpoolClient
import SpoolStore

/// The HTTP gateway over one spool: the seed's API, a JSON API for the dashboard's data, and the
/// server-rendered dashboard.
///
/// It sits beside the runner, never inside it: requests reach the runner as files dropped in
/// `inbox/` and `control/` (the same `RequestDropper` as `spoolrunner submit`), and everything it
/// shows is read from `outbox/`, `logs/`, `runner.json` and the history store opened read-only.
/// The runner stays the only writer of the store.
public struct Gateway: HTTPHandler, Sendable {
    let configuration: GatewayConfiguration
    let history: any StoreReader
    let catalogs: CatalogCache
    let logger: Logger
    let inFlight = InFlightRequests()

    public init(configuration: GatewayConfiguration, logger: Logger) {
        self.configuration = configuration
        self.history = SQLiteStore(readOnlyPath: configuration.databasePath)
        self.catalogs = CatalogCache(directory: configuration.definitionsDirectory)
        self.logger = logger
    }

    var layout: SpoolLayout { configuration.layout }

    public func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        await inFlight.track { await answer(request) }
    }

    private func answer(_ request: HTTPRequest) async -> HTTPResponse {
        let rawPath = request.target.path()
        let response: HTTPResponse
        switch Router.match(method: request.method.rawValue, rawPath: rawPath) {
        case .notFound:
            response =
                APIError(.noSuchRoute, "no route for \(request.method.rawValue) \(rawPath); see /openapi.json").response
        case .methodNotAllowed(let allowed):
            let methods = allowed.map(\.rawValue).joined(separator: ", ")
            response =
                APIError(
                    .methodNotAllowed, "\(rawPath) accepts \(methods) only", headers: [HTTPHeader("Allow"): methods]
                ).response
        case .endpoint(let endpoint, let parameters):
            do {
                try checkOrigin(of: request, for: endpoint)
                response = try await respond(to: endpoint, parameters: parameters, request: request)
            } catch let error as APIError {
                response = endpoint.isDashboard ? errorPage(error) : error.response
            } catch {
                logger.error("request failed", metadata: ["http.path": "\(rawPath)", "error": "\(error)"])
                response = HTTPResponse(statusCode: .internalServerError)
            }
        }
        logger.debug(
            "request",
            metadata: [
                "http.method": "\(request.method.rawValue)", "http.path": "\(rawPath)",
                "http.status": "\(response.statusCode.code)",
            ])
        return response
    }

    private func respond(to endpoint: Endpoint, parameters: [String: String], request: HTTPRequest) async throws
        -> HTTPResponse
    {
        let processID = parameters["process_id"] ?? ""
        switch endpoint {
        case .submit: return try await submit(request)
        case .seedStatus, .processStatus: return try status(processID)
        case .processes: return try await processes(request)
        case .events: return try await events(processID)
        case .cancel: return try control(.cancel, processID)
        case .retry: return try control(.retry, processID)
        case .definitions: return definitions()
        case .health: return health()
        case .openAPI: return .raw(Data(OpenAPIDocument.json.utf8), type: "application/json")
        case .dashboard: return try await dashboard(request)
        case .uiProcess: return try await processPage(processID)
        case .uiLog: return try log(processID, file: parameters["file"] ?? "")
        case .uiCancel: return try uiControl(.cancel, processID)
        case .uiRetry: return try uiControl(.retry, processID)
        case .uiDefinitions: return definitionsPage()
        case .stylesheet: return .raw(Data(Stylesheet.css.utf8), type: "text/css; charset=utf-8")
        }
    }

    /// A state change must come from the gateway's own pages or from a non-browser client: a
    /// browser's cross-site form post (CSRF) carries a foreign `Origin` or `Sec-Fetch-Site`.
    private func checkOrigin(of request: HTTPRequest, for endpoint: Endpoint) throws(APIError) {
        guard endpoint.method == .POST else { return }
        if let site = request.headers[HTTPHeader("Sec-Fetch-Site")], !["same-origin", "none"].contains(site) {
            throw APIError(.forbidden, "cross-site request refused (Sec-Fetch-Site: \(site))")
        }
        if let origin = request.headers[HTTPHeader("Origin")] {
            let host = request.headers[.host] ?? ""
            guard origin == "http://\(host)" || origin == "https://\(host)" else {
                throw APIError(
                    .forbidden, "cross-origin request refused (Origin \(origin) is not this gateway, \(host))")
            }
        }
    }

    /// A valid process id, or 404: an id that can never exist names nothing.
    func requireValid(_ processID: String) throws(APIError) {
        guard ProcessID.isValid(processID) else {
            throw APIError(
                .notFound, "no process '\(processID)': a process id matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
        }
    }

    /// The store's answer, with "no store yet" as an empty history and any other failure as 503.
    func fromStore<T>(_ query: () async throws(StoreError) -> T, whenMissing empty: T) async throws(APIError) -> T {
        do {
            return try await query()
        } catch {
            if error.code == .notFound { return empty }
            logger.error(
                "history store unreadable", metadata: ["spool.file": "\(error.location)", "error": "\(error.message)"])
            throw APIError(.storeUnavailable, error.description)
        }
    }
}

extension Endpoint {
    var isDashboard: Bool {
        switch self {
        case .dashboard, .uiProcess, .uiCancel, .uiRetry, .uiDefinitions: true
        default: false
        }
    }
}
