import CEpoll
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Waits, in an epoll instance of its own, for descriptors that hang up (a task's output pipe),
/// and runs each one's handler on that watch's queue.
///
/// Not a dispatch source, because of a use-after-free in libdispatch's Linux event loop: on
/// EPOLLHUP, `_dispatch_event_merge_fd` hands each source of the descriptor to its queue to be
/// deleted, and then goes on reading the descriptor's bookkeeping (its "muxnote"), which that
/// queue's thread may already have unregistered and freed (swift-corelibs-libdispatch issue 949).
/// Every task's output pipe hangs up when the task ends, so every task opened that window; once
/// the freed memory had been reused in it, `serve` crashed with SIGSEGV in
/// `_dispatch_event_loop_drain` (notes in the 2026-11-30 crash report).
///
/// Watches are keyed by a token that is never reused and looked up under the lock that `unwatch`
/// takes, so a late event of an ended watch is dropped instead of reaching another descriptor
/// that got the same number. Edge-triggered: a handler must read until EAGAIN.
final class DescriptorPoller: Sendable {
    /// The one poller of the process: one thread for every watch.
    static let shared = DescriptorPoller()

    private struct Watch {
        let descriptor: Int32
        let queue: DispatchQueue
        let handler: @Sendable () -> Void
    }

    private struct State {
        var nextToken: UInt64 = 1
        var watches: [UInt64: Watch] = [:]
    }

    /// `EPOLLET` is the bit 1 << 31; its C macro does not import into Swift as a plain value.
    private static let edgeTriggered: UInt32 = 1 << 31

    private let epollDescriptor: Int32
    private let state = Mutex(State())

    private init() {
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollDescriptor >= 0 else {
            // Without it no task's output can be read: nothing the runner could go on with.
            fatalError("spoolrunner: epoll_create1 failed: \(String(cString: strerror(errno)))")
        }
        let thread = Thread { [self] in self.loop() }
        thread.name = "spoolrunner.poll"
        thread.start()
    }

    /// A token for a later `watch`, so that the owner can store it before its handler exists.
    func reserveToken() -> UInt64 {
        state.withLock { state in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
    }

    /// Starts running `handler` on `queue` each time `descriptor` gets readable or hangs up
    /// (also once at once when it already is). The caller keeps the descriptor open until it
    /// has called `unwatch`.
    /// - Returns: the errno when epoll refused the descriptor, or nil.
    func watch(
        _ descriptor: Int32, token: UInt64, queue: DispatchQueue, handler: @escaping @Sendable () -> Void
    ) -> Int32? {
        state.withLock { state in
            state.watches[token] = Watch(descriptor: descriptor, queue: queue, handler: handler)
            var event = epoll_event(
                events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | Self.edgeTriggered, data: epoll_data(u64: token))
            guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, descriptor, &event) == 0 else {
                state.watches[token] = nil
                return errno
            }
            return nil
        }
    }

    /// Ends a watch: once this returns, its handler is never queued again (a run already queued
    /// still comes), and the descriptor may be closed.
    func unwatch(_ token: UInt64) {
        state.withLock { state in
            guard let watch = state.watches.removeValue(forKey: token) else { return }
            _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, watch.descriptor, nil)
        }
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = epoll_wait(epollDescriptor, &events, Int32(events.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("spoolrunner: epoll_wait failed: \(String(cString: strerror(errno)))")
            }
            // Queued under the lock, so that `unwatch` cannot slip between the look-up and the
            // queueing.
            state.withLock { state in
                for event in events[0..<Int(count)] {
                    guard let watch = state.watches[event.data.u64] else { continue }
                    watch.queue.async(execute: watch.handler)
                }
            }
        }
    }
}
