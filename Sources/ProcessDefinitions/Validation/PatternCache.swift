import Foundation
import Synchronization
import _FoundationICU

/// Input patterns, compiled once and matched with a bound on the matcher's work.
///
/// A pattern such as `(.*a){20}` backtracks exponentially: checking one 30-character value takes
/// seconds, and a longer one longer than the runner's life. ICU (the engine behind
/// NSRegularExpression on Linux) can stop a match after a number of steps; NSRegularExpression
/// does not expose that, so the ICU matcher is used directly. A match that runs out of steps is
/// reported as such, never as "does not match".
final class PatternCache: Sendable {
    static let shared = PatternCache()

    /// ICU's time limit, in its match-step units (about a millisecond of work each here): far
    /// beyond any sane pattern on a value of a few kilobytes, and 0.1 s at worst.
    static let stepLimit: Int32 = 100

    enum Outcome: Equatable {
        case matches
        case doesNotMatch
        /// The matcher used up `stepLimit`: the pattern backtracks too much on this value.
        case tooMuchWork
        case invalidPattern
    }

    /// Compiled expressions by pattern. A compiled ICU expression is never matched directly,
    /// only cloned (matching keeps state in the expression), which makes sharing it safe.
    private let compiled = Mutex<[String: OpaquePointer]>([:])

    /// Whether the whole of `text` matches `pattern`.
    func match(_ text: String, pattern: String) -> Outcome {
        guard let template = expression(for: pattern) else { return .invalidPattern }
        var status = U_ZERO_ERROR
        guard let matcher = swift_uregex_clone(template, &status), status.rawValue <= U_ZERO_ERROR.rawValue else {
            return .invalidPattern
        }
        defer { swift_uregex_close(matcher) }
        swift_uregex_setTimeLimit(matcher, Self.stepLimit, &status)
        var units = Array(text.utf16)
        let count = Int32(units.count)
        // ICU refuses a null text pointer, which is what an empty array gives.
        if units.isEmpty { units = [0] }
        return units.withUnsafeBufferPointer { buffer -> Outcome in
            swift_uregex_setText(matcher, buffer.baseAddress, count, &status)
            // uregex_matches: the whole input, not a part of it.
            let matched = swift_uregex_matches(matcher, 0, &status)
            if status == U_REGEX_TIME_OUT || status == U_REGEX_STACK_OVERFLOW { return .tooMuchWork }
            guard status.rawValue <= U_ZERO_ERROR.rawValue else { return .invalidPattern }
            return matched != 0 ? .matches : .doesNotMatch
        }
    }

    /// The compiled `pattern`, or nil when it does not compile (the loader reports such a
    /// pattern, with NSRegularExpression, which reads the same ICU syntax).
    private func expression(for pattern: String) -> OpaquePointer? {
        compiled.withLock { cache -> OpaquePointer? in
            if let cached = cache[pattern] { return cached }
            let units = Array(pattern.utf16)
            var status = U_ZERO_ERROR
            var parseError = UParseError()
            guard let expression = swift_uregex_open(units, Int32(units.count), 0, &parseError, &status),
                status.rawValue <= U_ZERO_ERROR.rawValue
            else { return nil }
            // Patterns come from definitions: few, and kept for the runner's life.
            cache[pattern] = expression
            return expression
        }
    }
}
