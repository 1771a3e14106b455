import Foundation

/// Building HTML text: every value from a request, an output, a log or the store goes through
/// `escape` (or `text`), so that `<img src=x onerror=...>` in an input is shown, never run.
enum HTML {
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// A path segment for an href: ids are already URL-safe, but task and file names go through this.
    static func segment(_ text: String) -> String {
        escape(text.addingPercentEncoding(withAllowedCharacters: .urlPathSegmentAllowed) ?? "")
    }

    /// The whole page around `body`: the same header and navigation on every page.
    static func page(title: String, body: String, refreshSeconds: Int? = nil) -> String {
        let refresh = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">\n" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(refresh)<title>\(escape(title)) · spoolrunner</title>
            <link rel="stylesheet" href="/ui/style.css">
            </head>
            <body>
            <header><a class="brand" href="/">spoolrunner</a> <nav><a href="/">Processes</a> <a href="/ui/definitions">Definitions</a> <a href="/openapi.json">API</a></nav></header>
            <main>
            \(body)
            </main>
            </body>
            </html>

            """
    }

    static func statusBadge(_ status: String) -> String {
        "<span class=\"status status-\(escape(status))\">\(escape(status))</span>"
    }
}

extension CharacterSet {
    /// Unreserved characters only (RFC 3986), so a name never changes a path's structure.
    static let urlPathSegmentAllowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
