import FlyingFox
import ProcessDefinitions

extension Gateway {
    /// `/ui/definitions`: each definition, its inputs, its tasks in order with mode and needs,
    /// its schedules; and the files that failed to load, with their errors.
    func definitionsPage() -> HTTPResponse {
        let catalog = catalogs.catalog
        var body = "<h1>Definitions</h1>\n"
        if !catalog.errors.isEmpty {
            body += "<h2>Invalid files</h2>\n<ul class=\"error\">\n"
            body += catalog.errors.map { "<li><code>\(HTML.escape($0.description))</code></li>" }.joined(
                separator: "\n")
            body += "\n</ul>\n"
        }
        if catalog.definitions.isEmpty {
            body += "<p class=\"muted\">No definitions in \(HTML.escape(catalogs.directory)).</p>\n"
        }
        for name in catalog.definitions.keys.sorted() {
            let definition = catalog.definitions[name]!
            body +=
                "<section class=\"definition\" id=\"definition-\(HTML.escape(name))\">\n<h2>\(HTML.escape(name))</h2>\n"
            if let description = definition.description { body += "<p>\(HTML.escape(description))</p>\n" }
            if !definition.inputs.isEmpty {
                let inputs = definition.inputs.map { input in
                    "<code>\(HTML.escape(input.name))</code>: \(input.type.rawValue)\(input.required ? ", required" : "")"
                        + (input.defaultValue.map { ", default \(HTML.escape($0.compactJSON))" } ?? "")
                }
                body += "<p>Inputs: \(inputs.joined(separator: "; "))</p>\n"
            }
            body +=
                "<table class=\"tasks\">\n<tr><th>#</th><th>Task</th><th>Mode</th><th>Action</th><th>Needs</th><th>Starts after</th></tr>\n"
            for (index, task) in definition.allTasks.enumerated() {
                let onFailure = index >= definition.tasks.count ? " <span class=\"muted\">(on_failure)</span>" : ""
                body +=
                    "<tr><td>\(index + 1)</td><td>\(HTML.escape(task.name))\(onFailure)</td><td>\(task.mode.rawValue)</td><td>\(task.actionKind)</td>"
                body +=
                    "<td>\(HTML.escape(task.needs?.joined(separator: ", ") ?? "-"))</td><td>\(HTML.escape(task.dependencies.joined(separator: ", ")))</td></tr>\n"
            }
            body += "</table>\n"
            if definition.schedule.isEmpty {
                body += "<p class=\"muted\">No schedule.</p>\n"
            } else {
                let entries = definition.schedule.map { entry in
                    "<li>\(entry.name.map { "<b>\(HTML.escape($0))</b> " } ?? "")<code>\(HTML.escape(entry.cron.source))</code> \(HTML.escape(entry.timeZoneName)),"
                        + " catch_up \(entry.catchUp.rawValue), overlap \(entry.overlap.rawValue), inputs <code>\(HTML.escape(JSONValue.object(entry.inputs).compactJSON))</code></li>"
                }
                body += "<p>Schedules:</p>\n<ul>\n\(entries.joined(separator: "\n"))\n</ul>\n"
            }
            body += "</section>\n"
        }
        return .html(HTML.page(title: "Definitions", body: body))
    }
}
