import Dispatch
import Foundation
import Synchronization
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The epoll thread that replaced dispatch sources on pipes and pidfds, with real pipes.
@Suite struct DescriptorPollerTests {
    /// Reads `fd` (non-blocking) until EAGAIN or end of file, the way a handler must.
    final class Reader: Sendable {
        let fd: Int32
        let bytes = Mutex(0)
        let ended = Mutex(false)
        let runs = Mutex(0)

        init(fd: Int32) {
            self.fd = fd
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }

        func drain() {
            runs.withLock { $0 += 1 }
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count > 0 {
                    bytes.withLock { $0 += count }
                    continue
                }
                if count == 0 { ended.withLock { $0 = true } }
                return
            }
        }
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func aWatchReadsWhatArrivesAndSeesTheHangUp() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let reader = Reader(fd: ends[0])
        let poller = DescriptorPoller.shared
        let token = poller.reserveToken()
        let queue = DispatchQueue(label: "test.poller")
        #expect(poller.watch(ends[0], token: token, queue: queue) { reader.drain() } == nil)
        #expect(write(ends[1], "hello", 5) == 5)
        try await Self.waitUntil { reader.bytes.withLock { $0 } == 5 }
        #expect(reader.bytes.withLock { $0 } == 5)
        close(ends[1])
        try await Self.waitUntil { reader.ended.withLock { $0 } }
        #expect(reader.ended.withLock { $0 }, "the hang-up of the last writer wakes the watch")
        poller.unwatch(token)
        queue.sync {}
        close(ends[0])
    }

    @Test func noHandlerRunsAfterTheUnwatch() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let reader = Reader(fd: ends[0])
        let poller = DescriptorPoller.shared
        let token = poller.reserveToken()
        let queue = DispatchQueue(label: "test.poller")
        #expect(poller.watch(ends[0], token: token, queue: queue) { reader.drain() } == nil)
        poller.unwatch(token)
        queue.sync {}
        let runs = reader.runs.withLock { $0 }
        #expect(write(ends[1], "late", 4) == 4)
        close(ends[1])
        try await Task.sleep(for: .milliseconds(200))
        queue.sync {}
        #expect(reader.runs.withLock { $0 } == runs)
        #expect(reader.bytes.withLock { $0 } == 0)
        close(ends[0])
    }

    @Test func aDescriptorEpollRefusesIsReported() throws {
        // A regular file cannot be watched by epoll (EPERM): the caller must be told.
        let path = NSTemporaryDirectory() + "poller-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        let poller = DescriptorPoller.shared
        #expect(poller.watch(fd, token: poller.reserveToken(), queue: DispatchQueue(label: "test.poller")) {} == EPERM)
    }
}
