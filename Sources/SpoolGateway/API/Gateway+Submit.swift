import FlyingFox
import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

extension Gateway {
    /// `POST /api/process/`: the seed's request, validated here as the runner would, then dropped
    /// into `inbox/` atomically. 202 means the file is durably in the spool, not that it has run.
    func submit(_ request: HTTPRequest) async throws -> HTTPResponse {
        if let type = request.headers[.contentType], !Self.isJSON(type) {
            throw APIError(.unsupportedMediaType, "the body must be JSON (Content-Type: application/json); got \(type)")
        }
        let body = try await readBody(request)
        let value: JSONValue
        do {
            // The runner's own strict reading (no duplicate keys, UTF-8 only, ...): a body the
            // runner would refuse is refused here, not accepted with 202 and rejected later.
            value = try StrictJSONParser.parse(body)
        } catch {
            throw APIError(.invalidJSON, "the body is not valid JSON: \(error.description)")
        }
        guard case .object(var fields) = value else {
            throw APIError(
                .notAnObject,
                "the body holds a JSON \(value.typeName); a request is a JSON object such as {\"process_type\": \"...\", ...}"
            )
        }
        let catalog = catalogs.catalog
        guard case .string(let processType)? = fields.removeValue(forKey: "process_type") else {
            throw APIError(
                .unknownProcessType, "the body has no string \"process_type\"; known types: \(Self.known(catalog))")
        }
        guard let definition = catalog.definitions[processType] else {
            if let broken = catalog.errors.first(where: { DefinitionLoader.processType(ofFile: $0.file) == processType }
            ) {
                throw APIError(
                    .unknownProcessType,
                    "the definition of '\(processType)' is invalid (\(broken.description)); fix it and run `spoolrunner validate`"
                )
            }
            throw APIError(
                .unknownProcessType,
                "no definition for process_type '\(processType)'; known types: \(Self.known(catalog))")
        }
        if case .failure(let error) = definition.validateInputs(fields) {
            throw APIError(.invalidInputs, error.message)
        }

        let key = request.headers[HTTPHeader("Idempotency-Key")]
        if let key, !ProcessID.isValid(key) {
            throw APIError(
                .invalidProcessID,
                "Idempotency-Key must be a process id matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$; got '\(key)'")
        }
        let processID = key ?? ProcessID.generate()
        if key != nil, let earlier = try await earlierRequest(processID) {
            return try replay(processID, earlier: earlier, body: body)
        }
        do {
            try RequestDropper(layout: layout).drop(processID: processID, body: body)
        } catch {
            if error.code == .alreadyWaiting, let earlier = try await earlierRequest(processID) {
                return try replay(processID, earlier: earlier, body: body)
            }
            logger.error(
                "cannot drop a request",
                metadata: ["process.id": "\(processID)", "spool.file": "\(error.path)", "error": "\(error.message)"])
            throw APIError(.spoolUnavailable, error.description)
        }
        logger.info("request dropped", metadata: ["process.id": "\(processID)", "process.type": "\(processType)"])
        return accepted(processID, status: "pending")
    }

    /// The body of an earlier request with this id: still waiting in `inbox/`, or kept by the store.
    private func earlierRequest(_ processID: String) async throws(APIError) -> Data? {
        if case .contents(let data, _) = SafeFileReader.read(
            "\(layout.inbox)/\(processID).json", limit: configuration.maxRequestBytes)
        {
            return data
        }
        let stored = try await fromStore(
            { () async throws(StoreError) in try await history.process(processID)?.requestJSON }, whenMissing: nil)
        return stored.map { Data($0.utf8) }
    }

    /// The same id again: the same body is the same request (SPEC §3), anything else a conflict.
    private func replay(_ processID: String, earlier: Data, body: Data) throws(APIError) -> HTTPResponse {
        guard earlier == body else {
            throw APIError(
                .duplicateProcessID,
                "a process with id '\(processID)' already exists with a different request; use a new Idempotency-Key (the existing process is untouched)"
            )
        }
        return accepted(processID, status: currentStatus(processID) ?? "pending")
    }

    private func accepted(_ processID: String, status: String) -> HTTPResponse {
        .json(
            ["process_id": .string(processID), "status": .string(status)], status: .accepted,
            headers: [.location: "/process/\(processID)/status"])
    }

    /// The `status` of the process's status file, if it has one.
    func currentStatus(_ processID: String) -> String? {
        guard let data = try? StatusFileReader(layout: layout).read(processID: processID),
            case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: data),
            case .string(let status)? = document["status"]
        else { return nil }
        return status
    }

    /// The body, refused with 413 as soon as it is known to pass the limit: from Content-Length
    /// before reading anything, or while reading a chunked body.
    private func readBody(_ request: HTTPRequest) async throws -> Data {
        let limit = configuration.maxRequestBytes
        let tooLarge = APIError(
            .tooLarge, "the body is over the \(limit)-byte request limit", headers: [.connection: "close"])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        var body = Data()
        for try await chunk in request.bodySequence {
            body.append(chunk)
            if body.count > limit { throw tooLarge }
        }
        return body
    }

    static func isJSON(_ contentType: String) -> Bool {
        let media =
            contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }

    static func known(_ catalog: DefinitionCatalog) -> String {
        let names = catalog.definitions.keys.sorted()
        return names.isEmpty ? "(none: check --definitions)" : names.joined(separator: ", ")
    }
}
