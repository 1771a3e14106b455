import Dispatch
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// inotify on `inbox/` and `control/`: a request renamed into the inbox is picked up within
/// milliseconds instead of at the next `--rescan`. The periodic full scan stays as the safety
/// net (queue overflow, filesystems without inotify).
public struct InboxWatcher: Service {
    let directories: [String]
    let mask: UInt32
    let onChange: @Sendable () -> Void
    let logger: Logger

    /// Files renamed in, written or created: what a request drop looks like.
    public static let dropEvents = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
    /// Also files removed or renamed away: what editing a definitions directory looks like.
    public static let editEvents = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM)

    /// - Parameter mask: the inotify events that count as a change (`dropEvents` by default).
    public init(
        directories: [String], mask: UInt32 = InboxWatcher.dropEvents, logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) {
        self.directories = directories
        self.mask = mask
        self.onChange = onChange
        self.logger = logger
    }

    public func run() async throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            logger.warning("inotify unavailable (\(String(cString: strerror(errno)))); relying on --rescan")
            try await gracefulShutdown()
            return
        }
        for directory in directories {
            if inotify_add_watch(fd, directory, mask) < 0 {
                logger.warning("cannot watch \(directory): \(String(cString: strerror(errno))); relying on --rescan")
            }
        }
        let source = DispatchSource.makeReadSource(
            fileDescriptor: fd, queue: DispatchQueue(label: "spoolrunner.inotify"))
        let onChange = self.onChange
        source.setEventHandler {
            // Any event (IN_Q_OVERFLOW included) means "look again": the scan reads the whole
            // directory, so the event's details do not matter and bursts coalesce.
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var drained = false
            while read(fd, &buffer, buffer.count) > 0 { drained = true }
            if drained { onChange() }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
        try? await gracefulShutdown()
        source.cancel()
    }
}
