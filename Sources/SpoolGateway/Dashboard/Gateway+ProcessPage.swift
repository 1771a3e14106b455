import FlyingFox
import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

extension Gateway {
    /// `/ui/process/<id>`: status, inputs, error, tasks, the timeline, events, logs, and the
    /// cancel/retry buttons. Built from the status file (what the runner published) and the
    /// store's events (the attempts); refreshed every 2 s while the process is not over.
    func processPage(_ processID: String) async throws(APIError) -> HTTPResponse {
        try requireValid(processID)
        let id = HTML.escape(processID)
        let document: [String: JSONValue]
        switch try statusDocument(processID) {
        case .some(let found): document = found
        case .none:
            guard StatusFileReader(layout: layout).isWaitingInInbox(processID: processID) else {
                throw APIError(.notFound, "no process '\(processID)' in this spool")
            }
            let body =
                "<h1>Process <code>\(id)</code> \(HTML.statusBadge("pending"))</h1>\n<p>Waiting in <code>inbox/</code> for the runner to take it.</p>"
            return .html(HTML.page(title: processID, body: body, refreshSeconds: 2))
        }
        let status = document["status"]?.templateText ?? "unknown"
        let events = try await fromStore(
            { () async throws(StoreError) in try await history.events(of: processID, after: 0) }, whenMissing: [])
        var tasks: [JSONValue] = []
        if case .array(let list)? = document["tasks"] { tasks = list }

        var body = "<h1>Process <code>\(id)</code> \(HTML.statusBadge(status))</h1>\n"
        body += "<table class=\"facts\">\n"
        for key in ["process_type", "created_at", "started_at", "ended_at", "updated_at"] {
            body += "<tr><th>\(key)</th><td>\(HTML.escape(document[key].map(Self.text) ?? "-"))</td></tr>\n"
        }
        body +=
            "<tr><th>duration</th><td>\(Self.duration(from: document["started_at"]?.string, to: document["ended_at"]?.string))</td></tr>\n</table>\n"
        if let error = document["error"], error != .null {
            body +=
                "<h2>Error</h2>\n<p class=\"error\" id=\"process-error\">\(HTML.escape(Self.errorText(error)))</p>\n"
        }
        let known = ProcessStatus(rawValue: status)
        body += controls(processID, status: known)

        body += "<h2>Inputs</h2>\n"
        if case .object(let inputs)? = document["inputs"], !inputs.isEmpty {
            body += "<table id=\"inputs\">\n"
            for key in inputs.keys.sorted() {
                body +=
                    "<tr><th>\(HTML.escape(key))</th><td class=\"input-value\">\(HTML.escape(Self.text(inputs[key]!)))</td></tr>\n"
            }
            body += "</table>\n"
        } else {
            body += "<p class=\"muted\">none</p>\n"
        }

        let ended = document["ended_at"]?.string.flatMap(Timestamp.parse)
        let timeline = Timeline(
            taskOrder: tasks.compactMap { $0["task_name"]?.string }, events: events, openUntil: ended ?? Date())
        body += "<h2>Timeline</h2>\n\(timeline.svg)\n"
        body += taskTable(tasks)
        body += logList(processID)
        body += eventTable(events)
        // An unknown status (a newer runner's) keeps refreshing, like one not over yet.
        let refresh = known?.isFinal == true ? nil : 2
        return .html(HTML.page(title: processID, body: body, refreshSeconds: refresh))
    }

    /// The status file as an object; nil when there is none.
    private func statusDocument(_ processID: String) throws(APIError) -> [String: JSONValue]? {
        let data: Data?
        do {
            data = try StatusFileReader(layout: layout).read(processID: processID)
        } catch {
            throw APIError(.spoolUnavailable, error.description)
        }
        guard let data else { return nil }
        guard case .object(let document)? = JSONValue.parse(String(decoding: data, as: UTF8.self)) else {
            throw APIError(.spoolUnavailable, "\(layout.statusFile(processID)) is not a JSON object")
        }
        return document
    }

    private func controls(_ processID: String, status: ProcessStatus?) -> String {
        var forms: [String] = []
        let id = HTML.escape(processID)
        if status == .pending || status == .running {
            forms.append(
                "<form class=\"inline\" method=\"post\" action=\"/ui/process/\(id)/cancel\"><button type=\"submit\" id=\"cancel\">Cancel</button></form>"
            )
        }
        if status == .failed || status == .cancelled {
            forms.append(
                "<form class=\"inline\" method=\"post\" action=\"/ui/process/\(id)/retry\"><button type=\"submit\" id=\"retry\">Retry</button></form>"
            )
        }
        return forms.isEmpty ? "" : "<p class=\"controls\">\(forms.joined(separator: " "))</p>\n"
    }

    private func taskTable(_ tasks: [JSONValue]) -> String {
        var html =
            "<h2>Tasks</h2>\n<table id=\"tasks\">\n<tr><th>Task</th><th>Mode</th><th>Status</th><th>Attempts</th><th>Started</th><th>Ended</th><th>Exit</th><th>Output / error</th></tr>\n"
        for task in tasks {
            let detail =
                task["error"].flatMap { $0 == .null ? nil : Self.errorText($0) }.map {
                    "<span class=\"error\">\(HTML.escape($0))</span>"
                }
                ?? task["output"].flatMap { $0 == .null ? nil : "<code>\(HTML.escape($0.compactJSON))</code>" } ?? ""
            html += "<tr class=\"task\"><td>\(HTML.escape(task["task_name"].map(Self.text) ?? "?"))</td>"
            html +=
                "<td>\(HTML.escape(task["mode"].map(Self.text) ?? ""))</td><td>\(HTML.statusBadge(task["status"].map(Self.text) ?? "?"))</td>"
            html += "<td>\(HTML.escape(task["attempts"].map(Self.text) ?? ""))</td>"
            for key in ["started_at", "ended_at", "exit_code"] {
                html += "<td>\(HTML.escape(task[key].map(Self.text) ?? ""))</td>"
            }
            html += "<td>\(detail)</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func logList(_ processID: String) -> String {
        let files = LogFiles(layout: layout).list(processID)
        guard !files.isEmpty else { return "<h2>Logs</h2>\n<p class=\"muted\">No log files.</p>\n" }
        let id = HTML.escape(processID)
        let items = files.map {
            "<li><a href=\"/ui/process/\(id)/logs/\(HTML.segment($0))\">\(HTML.escape($0))</a></li>"
        }
        return "<h2>Logs</h2>\n<ul id=\"logs\">\n\(items.joined(separator: "\n"))\n</ul>\n"
    }

    private func eventTable(_ events: [EventRecord]) -> String {
        guard !events.isEmpty else {
            return "<h2>Events</h2>\n<p class=\"muted\">No events in the history store.</p>\n"
        }
        var html =
            "<h2>Events</h2>\n<table id=\"events\">\n<tr><th>At</th><th>Event</th><th>Task</th><th>Detail</th></tr>\n"
        for event in events {
            html +=
                "<tr><td>\(HTML.escape(Timestamp.string(event.at)))</td><td>\(HTML.escape(event.event.rawValue))</td><td>\(HTML.escape(event.taskName ?? ""))</td>"
            html +=
                "<td><code>\(HTML.escape(event.detail.map { JSONValue.object($0).compactJSON } ?? ""))</code></td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// `POST /ui/process/<id>/cancel|retry`: the same control file as the API, then back to the page.
    func uiControl(_ action: ControlMessage.Action, _ processID: String) throws(APIError) -> HTTPResponse {
        try dropControl(action, processID)
        return .redirect(to: "/ui/process/\(processID)")
    }

    static func text(_ value: JSONValue) -> String {
        value == .null ? "-" : value.templateText
    }

    static func errorText(_ error: JSONValue) -> String {
        guard case .object(let fields) = error else { return error.templateText }
        let task = fields["task"].flatMap { $0 == .null ? nil : " (task \($0.templateText))" } ?? ""
        return "\(fields["code"]?.templateText ?? "error"): \(fields["message"]?.templateText ?? "")\(task)"
    }
}

extension JSONValue {
    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}
