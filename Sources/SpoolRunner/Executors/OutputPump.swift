import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Copies a task's standard output from the read end of its pipe to its log file, keeping the
/// tail for the task's `output`, until end of file or until told to stop.
///
/// The pipe is the runner's own (not swift-subprocess's output sequence) because the read must
/// be stoppable: a process that escaped the task's process group (`setsid`, a daemon) may keep
/// the write end open for ever, and the attempt ends when the task's own process has exited,
/// not when every holder of its output has. The descriptor is non-blocking and read when
/// `DescriptorPoller` says so (not a dispatch source: see there why), so no thread of the
/// cooperative pool ever blocks on it; it is closed once its watch has ended.
final class OutputPump: Sendable {
    private struct State {
        var tail = OutputTail()
        var done = false
        var writeFailed = false
        var waiter: CheckedContinuation<OutputTail, Never>?
    }

    private let descriptor: Int32
    private let logFD: Int32
    /// Told once, with errno, when the log cannot be written (a full disk): the output is still
    /// read, so the task never blocks on a full pipe, and its last line is still kept.
    private let onWriteFailure: @Sendable (Int32) -> Void
    private let queue: DispatchQueue
    private let state = Mutex(State())
    /// The pump's watch in `DescriptorPoller.shared`.
    private let token: UInt64
    /// One read buffer for the pump's life, used only on `queue`: a chatty task wakes the pump
    /// for every small write, and each wake-up must not allocate 64 KiB.
    private nonisolated(unsafe) let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)

    /// Takes ownership of `descriptor` (the pipe's read end).
    init(descriptor: Int32, logFD: Int32, onWriteFailure: @escaping @Sendable (Int32) -> Void = { _ in }) {
        self.descriptor = descriptor
        self.logFD = logFD
        self.onWriteFailure = onWriteFailure
        let queue = DispatchQueue(label: "spoolrunner.output")
        self.queue = queue
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        token = DescriptorPoller.shared.reserveToken()
        // The cycle through the handler ends with `unwatch`, which drops the handler. When epoll
        // refuses the pipe (out of memory), what it holds is still read by `stop()`.
        _ = DescriptorPoller.shared.watch(descriptor, token: token, queue: queue) { self.drain(stopAfter: false) }
    }

    deinit {
        buffer.deallocate()
    }

    /// Reads what the pipe holds now, then ends (for a writer that will never close it).
    func stop() {
        queue.async { self.drain(stopAfter: true) }
    }

    /// The output's tail, once the pipe reached end of file or `stop()` was called.
    func finished() async -> OutputTail {
        await withCheckedContinuation { (continuation: CheckedContinuation<OutputTail, Never>) in
            let tail: OutputTail? = state.withLock { state in
                if state.done { return state.tail }
                state.waiter = continuation
                return nil
            }
            if let tail { continuation.resume(returning: tail) }
        }
    }

    /// Runs on `queue` only.
    private func drain(stopAfter: Bool) {
        guard !state.withLock({ $0.done }) else { return }
        var ended = stopAfter
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count > 0 {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                let written = DurableWrite.writeAll(logFD, chunk)
                let code = errno
                let firstFailure = state.withLock { state -> Bool in
                    state.tail.append(chunk)
                    guard !written, !state.writeFailed else { return false }
                    state.writeFailed = true
                    return true
                }
                if firstFailure { onWriteFailure(code) }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            ended = true  // end of file, or an error that more reading will not fix
            break
        }
        guard ended else { return }
        let waiter: (CheckedContinuation<OutputTail, Never>, OutputTail)? = state.withLock { state in
            state.done = true
            defer { state.waiter = nil }
            return state.waiter.map { ($0, state.tail) }
        }
        // On `queue`: a run of the handler queued before the unwatch finds `done` and reads
        // nothing, so the descriptor (and its number, once reused) is not touched after this.
        DescriptorPoller.shared.unwatch(token)
        close(descriptor)
        waiter.map { $0.0.resume(returning: $0.1) }
    }
}
