import Foundation
import Synchronization

/// Compiled input patterns, so that validating a request does not compile the same regular
/// expression again for every request (intake is on the hot path).
final class PatternCache: @unchecked Sendable {
    static let shared = PatternCache()

    // NSRegularExpression is immutable once made and safe to share between threads.
    private let compiled = Mutex<[String: NSRegularExpression]>([:])

    /// The whole-string expression of `pattern`, or nil when it does not compile (the loader has
    /// already reported such a pattern).
    func expression(for pattern: String) -> NSRegularExpression? {
        if let cached = compiled.withLock({ $0[pattern] }) { return cached }
        guard let expression = try? NSRegularExpression(pattern: "\\A(?:\(pattern))\\z") else { return nil }
        compiled.withLock { $0[pattern] = expression }
        return expression
    }
}
