import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Deterministic crash points, for testing recovery only.
///
/// With `SPOOLRUNNER_CRASH_AT=N` in its environment the runner SIGKILLs itself just before its
/// N-th durable step (a commit, a rename, a spawn), so a test can walk N and check that recovery
/// holds at every step. `SPOOLRUNNER_CRASH_AT=<kind>` (`rejected`, ...) kills it at the first step
/// of that kind instead, for a test of one window. Without the variable this is one atomic load
/// per step.
public enum CrashPoint {
    private static let setting = ProcessInfo.processInfo.environment["SPOOLRUNNER_CRASH_AT"]
    private static let target: Int? = setting.flatMap(Int.init)
    private static let kindTarget: String? = setting.flatMap { Int($0) == nil && !$0.isEmpty ? $0 : nil }
    private static let counter = Atomic<Int>(0)

    public static func step(_ kind: StaticString) {
        if let kindTarget, kindTarget == "\(kind)" {
            FileHandle.standardError.write(
                Data("spoolrunner: SPOOLRUNNER_CRASH_AT=\(kindTarget): killing myself before \(kind)\n".utf8))
            kill(getpid(), SIGKILL)
        }
        guard let target else { return }
        let (_, count) = counter.add(1, ordering: .relaxed)
        if count == target {
            FileHandle.standardError.write(
                Data("spoolrunner: SPOOLRUNNER_CRASH_AT=\(target): killing myself before \(kind)\n".utf8))
            kill(getpid(), SIGKILL)
        }
    }
}
