import ArgumentParser
import Foundation

/// Real values for shell completion: process ids from `outbox/`, process types from the
/// definitions directory.
///
/// The closures run inside `spoolrunner ---completion` while the user presses Tab, so they only
/// list directory names (no file is opened or parsed): fast even with 10,000 status files.
/// `--spool`/`--definitions` are taken from the words already typed, then from the environment.
enum CompletionSource {
    static let processIDs = CompletionKind.custom { words, _, prefix in
        let spool =
            option("--spool", in: words) ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_SPOOL"] ?? "./spool"
        return names(in: spool + "/outbox", suffixes: [".json"], prefix: prefix)
    }

    static let processTypes = CompletionKind.custom { words, _, prefix in
        let directory =
            option("--definitions", in: words) ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_DEFINITIONS"]
            ?? "./definitions"
        return names(in: directory, suffixes: [".yaml", ".yml"], prefix: prefix)
    }

    /// The value of `--name VALUE` or `--name=VALUE` among the typed words (the last one wins, as
    /// in the parser).
    static func option(_ name: String, in words: [String]) -> String? {
        var value: String?
        for (index, word) in words.enumerated() {
            if word == name, index + 1 < words.count {
                value = words[index + 1]
            } else if word.hasPrefix(name + "=") {
                value = String(word.dropFirst(name.count + 1))
            }
        }
        return value.map { ($0 as NSString).expandingTildeInPath }
    }

    static func names(in directory: String, suffixes: [String], prefix: String) -> [String] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var result: [String] = []
        for entry in entries where !entry.hasPrefix(".") && entry.hasPrefix(prefix) {
            guard let suffix = suffixes.first(where: { entry.hasSuffix($0) }) else { continue }
            result.append(String(entry.dropLast(suffix.count)))
        }
        return result.sorted()
    }
}
