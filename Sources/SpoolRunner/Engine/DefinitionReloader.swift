import Foundation
import ProcessDefinitions
import Synchronization

/// Reads the definitions directory away from the engine, within a time bound.
///
/// A reload (SIGHUP, a changed file) must never stall intake, heartbeats or shutdown: the files
/// are read and parsed on a thread of their own, and the engine only receives the finished
/// catalog. The loader itself bounds YAML alias expansion and file size, so a load ends; the
/// time bound is the second line of defence (a pathological file, a hung network filesystem).
/// When it is hit the engine keeps the catalog it has.
package enum DefinitionReloader {
    /// The catalog of `directory`, or nil when loading took longer than `limit` or the calling
    /// task was cancelled (shutdown). A load that overruns is left to finish on its own thread;
    /// its result is dropped.
    package static func load(directory: String, limit: Duration) async -> DefinitionCatalog? {
        let delivery = Delivery()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DefinitionCatalog?, Never>) in
                guard delivery.arm(continuation) else { return }
                let thread = Thread {
                    delivery.deliver(DefinitionCatalog.load(directory: directory))
                }
                // Yams composes recursively: a deep (but bounded) document needs more than the
                // 512 KiB default stack of a secondary thread.
                thread.stackSize = 16 << 20
                thread.name = "spoolrunner.definitions"
                thread.start()
                DispatchQueue.global().asyncAfter(deadline: .now() + limit.seconds) { delivery.deliver(nil) }
            }
        } onCancel: {
            delivery.deliver(nil)
        }
    }

    /// Resumes the continuation once, with whichever comes first: the catalog, the time bound,
    /// or cancellation. A cancellation before the continuation exists is remembered.
    private final class Delivery: Sendable {
        private enum State {
            case waiting
            case armed(CheckedContinuation<DefinitionCatalog?, Never>)
            case cancelledEarly
            case done
        }
        private let state = Mutex<State>(.waiting)

        /// Returns false when the load was cancelled before it began (nothing left to do).
        func arm(_ continuation: CheckedContinuation<DefinitionCatalog?, Never>) -> Bool {
            let resumeNow = state.withLock { state -> Bool in
                if case .cancelledEarly = state {
                    state = .done
                    return true
                }
                state = .armed(continuation)
                return false
            }
            if resumeNow { continuation.resume(returning: nil) }
            return !resumeNow
        }

        func deliver(_ catalog: DefinitionCatalog?) {
            let continuation = state.withLock { state -> CheckedContinuation<DefinitionCatalog?, Never>? in
                switch state {
                case .armed(let continuation):
                    state = .done
                    return continuation
                case .waiting:
                    // Only cancellation can arrive before arming.
                    state = .cancelledEarly
                    return nil
                case .cancelledEarly, .done:
                    return nil
                }
            }
            continuation?.resume(returning: catalog)
        }
    }
}
