import FlyingFox
import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

extension Gateway {
    /// `GET /process/<id>/status` and `GET /api/process/<id>`: the status file verbatim; while the
    /// request still waits in `inbox/`, `pending`; 404 otherwise.
    func status(_ processID: String) throws(APIError) -> HTTPResponse {
        try requireValid(processID)
        let reader = StatusFileReader(layout: layout)
        let data: Data?
        do {
            data = try reader.read(processID: processID)
        } catch {
            throw APIError(.spoolUnavailable, error.description)
        }
        if let data { return .raw(data, type: "application/json") }
        if reader.isWaitingInInbox(processID: processID) {
            return .json(["process_id": .string(processID), "status": "pending"])
        }
        throw APIError(
            .notFound,
            "no process '\(processID)' in this spool (no outbox/\(processID).json, nothing waiting in inbox/)")
    }

    /// `GET /api/processes`: the `history` filters, newest first, a page at a time.
    func processes(_ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        let filter = try ProcessQueryParser.filter(from: request.query)
        let rows = try await fromStore(
            { () async throws(StoreError) in try await history.processes(filter.pagedOnePastLimit) }, whenMissing: [])
        let page = Array(rows.prefix(filter.limit))
        let next: JSONValue = rows.count > filter.limit ? .integer(Int64(filter.offset + filter.limit)) : .null
        return .json([
            "processes": .array(page.map(\.json)), "limit": .integer(Int64(filter.limit)),
            "offset": .integer(Int64(filter.offset)), "next_offset": next,
        ])
    }

    /// `GET /api/process/<id>/events`: every state change, oldest first.
    func events(_ processID: String) async throws(APIError) -> HTTPResponse {
        try requireValid(processID)
        let events = try await fromStore(
            { () async throws(StoreError) in try await history.events(of: processID, after: 0) }, whenMissing: [])
        guard !events.isEmpty else {
            throw APIError(.notFound, "no events for '\(processID)' in the history store")
        }
        return .json(["process_id": .string(processID), "events": .array(events.map(\.json))])
    }

    /// `POST /api/process/<id>/cancel|retry`: a control file for the runner, which acts on it.
    func control(_ action: ControlMessage.Action, _ processID: String) throws(APIError) -> HTTPResponse {
        try dropControl(action, processID)
        return .json(
            ["process_id": .string(processID), "action": .string(action.rawValue), "status": "requested"],
            status: .accepted,
            headers: [.location: "/process/\(processID)/status"])
    }

    func dropControl(_ action: ControlMessage.Action, _ processID: String) throws(APIError) {
        try requireValid(processID)
        let known =
            (try? StatusFileReader(layout: layout).read(processID: processID)) != nil
            || StatusFileReader(layout: layout).isWaitingInInbox(processID: processID)
        guard known else {
            throw APIError(.notFound, "no process '\(processID)' in this spool to \(action.rawValue)")
        }
        do {
            try RequestDropper(layout: layout).control(ControlMessage(action: action, processID: processID))
        } catch {
            throw APIError(.spoolUnavailable, error.description)
        }
        logger.info(
            "control dropped", metadata: ["process.id": "\(processID)", "control.action": "\(action.rawValue)"])
    }
}

extension ProcessQuery {
    /// One row more than asked, to know whether there is a next page.
    var pagedOnePastLimit: ProcessQuery {
        var filter = self
        filter.limit += 1
        return filter
    }
}

extension ProcessRecord {
    var json: JSONValue {
        let fields: [String: JSONValue] = [
            "process_id": .string(processID),
            "process_type": .string(processType),
            "status": .string(status.rawValue),
            "inputs": .object(inputs),
            "created_at": .time(createdAt),
            "started_at": .time(startedAt),
            "ended_at": .time(endedAt),
            "error": error.map(\.json) ?? .null,
        ]
        return .object(fields)
    }
}

extension EventRecord {
    var json: JSONValue {
        .object([
            "id": .integer(id ?? 0),
            "process_id": .string(processID),
            "task_name": taskName.map(JSONValue.string) ?? .null,
            "event": .string(event.rawValue),
            "at": .time(at),
            "detail": detail.map(JSONValue.object) ?? .null,
        ])
    }
}

extension JSONValue {
    /// A JSON column's text as a value; nil for text that is not JSON.
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

extension FailureInfo {
    var json: JSONValue {
        .object([
            "code": .string(code.rawValue), "message": .string(message), "task": task.map(JSONValue.string) ?? .null,
        ])
    }
}

extension JSONValue {
    /// A stored time as the API shows it: the spool's one text format, or null.
    static func time(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.string($0)) } ?? .null
    }
}
