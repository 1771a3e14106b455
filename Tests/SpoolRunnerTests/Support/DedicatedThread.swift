import Foundation

/// Runs a blocking call (a socket read, a semaphore, a thread's join) on a thread of its own and
/// suspends the calling test until it returns.
///
/// Swift Testing's cooperative pool is only as wide as the cores and every suite shares it: a
/// call that blocks a pool thread for seconds takes that thread from every other test.
enum DedicatedThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}
