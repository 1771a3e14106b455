import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a test needs from the machine (root, a tool, a filesystem) and may not find. A copy of
/// SpoolRunnerTests' own (test targets cannot share sources), kept the same.
///
/// The one place that decides between skipping and failing: a test whose requirement is missing
/// prints one line saying why and is skipped, except under `SPOOLRUNNER_REQUIRE_ALL=1` (set by
/// `.ci/run`), where a missing requirement is a failure: CI must run every test.
enum Requirement {
    static var requireAll: Bool { ProcessInfo.processInfo.environment["SPOOLRUNNER_REQUIRE_ALL"] == "1" }

    /// Returns when `met`; otherwise skips the calling test (or fails it under
    /// `SPOOLRUNNER_REQUIRE_ALL=1`) with `reason`.
    static func check(
        _ met: Bool, _ reason: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        guard !met else { return }
        let why = reason()
        if requireAll {
            Issue.record("SPOOLRUNNER_REQUIRE_ALL=1 and this test cannot run: \(why)", sourceLocation: sourceLocation)
            throw Missing(reason: why)
        }
        print("skipped (\(sourceLocation.fileName):\(sourceLocation.line)): \(why)")
        try Test.cancel(Comment(rawValue: why), sourceLocation: sourceLocation)
    }

    /// Root, for mounts and other privileged setup.
    static func root(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try check(geteuid() == 0, "needs root (runs as uid \(geteuid()))", sourceLocation: sourceLocation)
    }

    /// A program found in PATH.
    static func tool(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let found = path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
        try check(found, "needs `\(name)` in PATH", sourceLocation: sourceLocation)
    }

    struct Missing: Error, CustomStringConvertible {
        var reason: String
        var description: String { "requirement missing: \(reason)" }
    }
}
