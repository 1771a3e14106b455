import FlyingFox
import Foundation
import ProcessDefinitions
import SpoolClient
import SpoolStore

extension Gateway {
    static let pageSize = 25

    /// `/`: runner health, inbox backlog, counts per status, and the filterable, paged list.
    func dashboard(_ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        let filter = try ProcessQueryParser.filter(from: request.query, defaultLimit: Self.pageSize)
        let health = RunnerHealth.check(layout, staleAfter: configuration.heartbeatStaleAfter)
        let counts = try await fromStore(
            { () async throws(StoreError) in try await history.statusCounts() }, whenMissing: [:])
        let rows = try await fromStore(
            { () async throws(StoreError) in try await history.processes(filter.pagedOnePastLimit) }, whenMissing: [])
        let page = Array(rows.prefix(filter.limit))

        var body = "<h1>Processes</h1>\n"
        let healthText =
            health.healthy
            ? "<span class=\"health-ok\">runner running</span>"
            : "<span class=\"health-bad\">runner not running: \(HTML.escape(health.reason ?? ""))</span>"
        body += "<p id=\"health\">\(healthText)</p>\n<div class=\"cards\">\n"
        body += "<div class=\"card\" id=\"backlog\"><b>\(inboxBacklog())</b>waiting in inbox</div>\n"
        for status in ProcessQueryParser.statuses {
            let count = ProcessStatus(rawValue: status).flatMap { counts[$0] } ?? 0
            body += "<div class=\"card\" id=\"count-\(status)\"><b>\(count)</b>\(status)</div>\n"
        }
        body += "</div>\n" + filterForm(filter, query: request.query)
        if page.isEmpty {
            body += "<p class=\"muted\">No process matches.</p>\n"
        } else {
            body +=
                "<table id=\"processes\">\n<tr><th>Process</th><th>Type</th><th>Status</th><th>Created</th><th>Duration</th></tr>\n"
            for row in page {
                let id = HTML.escape(row.processID)
                body +=
                    "<tr class=\"process\" data-process-id=\"\(id)\"><td><a href=\"/ui/process/\(id)\"><code>\(id)</code></a></td>"
                body += "<td>\(HTML.escape(row.processType))</td><td>\(HTML.statusBadge(row.status.rawValue))</td>"
                body +=
                    "<td>\(HTML.escape(Timestamp.string(row.createdAt)))</td><td>\(Self.duration(from: row.startedAt.map(Timestamp.string), to: row.endedAt.map(Timestamp.string)))</td></tr>\n"
            }
            body += "</table>\n"
        }
        var links: [String] = []
        if filter.offset > 0 {
            links.append(
                "<a rel=\"prev\" href=\"\(listLink(request.query, offset: max(0, filter.offset - filter.limit)))\">← Newer</a>"
            )
        }
        if rows.count > filter.limit {
            links.append(
                "<a rel=\"next\" href=\"\(listLink(request.query, offset: filter.offset + filter.limit))\">Older →</a>")
        }
        if !links.isEmpty { body += "<p class=\"pager\">\(links.joined(separator: " · "))</p>\n" }
        return .html(HTML.page(title: "Processes", body: body))
    }

    private func filterForm(_ filter: ProcessQuery, query: [HTTPRequest.QueryItem]) -> String {
        func raw(_ name: String) -> String { HTML.escape(query.last { $0.name == name }?.value ?? "") }
        let types = catalogs.catalog.definitions.keys.sorted()
        var form =
            "<form class=\"filters\" method=\"get\" action=\"/\">\n<label>Type <select name=\"type\"><option value=\"\">any</option>"
        for type in types {
            form += "<option\(filter.type == type ? " selected" : "")>\(HTML.escape(type))</option>"
        }
        form += "</select></label>\n<label>Status <select name=\"status\"><option value=\"\">any</option>"
        for status in ProcessQueryParser.statuses {
            form += "<option\(filter.status?.rawValue == status ? " selected" : "")>\(status)</option>"
        }
        form += "</select></label>\n"
        form +=
            "<label>Since <input name=\"since\" value=\"\(raw("since"))\" placeholder=\"2h or 2026-07-20\" size=\"14\"></label>\n"
        form +=
            "<label>Until <input name=\"until\" value=\"\(raw("until"))\" placeholder=\"2026-07-21\" size=\"14\"></label>\n"
        form += "<button type=\"submit\">Filter</button> <a href=\"/\">clear</a>\n</form>\n"
        return form
    }

    /// `/?…&offset=N`: the same filters, another page.
    private func listLink(_ query: [HTTPRequest.QueryItem], offset: Int) -> String {
        var components = URLComponents()
        components.path = "/"
        components.queryItems =
            query.filter { $0.name != "offset" && !$0.value.isEmpty }.map {
                URLQueryItem(name: $0.name, value: $0.value)
            }
            + [URLQueryItem(name: "offset", value: String(offset))]
        return HTML.escape(components.string ?? "/")
    }

    /// Requests waiting in `inbox/` (what the runner has not taken yet).
    func inboxBacklog() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout.inbox)) ?? [])
            .filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.count
    }

    /// Elapsed time between two stamps; to now while still running; `-` before the start.
    static func duration(from start: String?, to end: String?) -> String {
        guard let start, let began = Timestamp.parse(start) else { return "-" }
        let finished = end.flatMap(Timestamp.parse) ?? Date()
        return Timeline.seconds(max(0, finished.timeIntervalSince(began))) + (end == nil ? " …" : "")
    }

    /// A dashboard error as a page (the API's routes answer JSON).
    func errorPage(_ error: APIError) -> HTTPResponse {
        let body =
            "<h1>\(error.code.status.code) \(HTML.escape(error.code.status.phrase))</h1>\n<p class=\"error\"><code>\(error.code.rawValue)</code>: \(HTML.escape(error.message))</p>\n<p><a href=\"/\">Back to the processes</a></p>"
        var response = HTTPResponse.html(HTML.page(title: "Error", body: body), status: error.code.status)
        for (header, value) in error.headers { response.headers[header] = value }
        return response
    }
}
