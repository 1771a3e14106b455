import Dispatch
import Synchronization

/// Runs an async call from a thread that is not one of the cooperative pool's, and waits for it.
///
/// For the two places that live on threads of their own by design: the status writer's thread
/// (blocking file I/O, so as to keep it off the pool) and `watch`'s terminal loop. Never call it
/// from async code: a pool thread waiting here could be the one the call needs.
package enum BlockingWait {
    package static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
