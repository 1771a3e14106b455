import ArgumentParser

/// `serve --log-format`.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case logfmt, json
}
