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
package struct InboxWatcher: Service {
    let directories: [String]
    let mask: UInt32
    /// Which names count; nil: every event does.
    let names: (@Sendable (String) -> Bool)?
    let onChange: @Sendable () -> Void
    let logger: Logger

    /// Files renamed in, written or created: what a request drop looks like.
    package static let dropEvents = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
    /// Also files removed or renamed away: what editing a definitions directory looks like.
    package static let editEvents = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM)

    /// - Parameter mask: the inotify events that count as a change (`dropEvents` by default).
    /// - Parameter names: the file names whose events count (an editor's or a library's temp
    ///   file beside a definition is not a change of it); an overflow always counts.
    package init(
        directories: [String], mask: UInt32 = InboxWatcher.dropEvents, names: (@Sendable (String) -> Bool)? = nil,
        logger: Logger, onChange: @escaping @Sendable () -> Void
    ) {
        self.directories = directories
        self.mask = mask
        self.names = names
        self.onChange = onChange
        self.logger = logger
    }

    package func run() async throws {
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
        let names = self.names
        source.setEventHandler {
            // Any event that counts (IN_Q_OVERFLOW included) means "look again": the scan reads
            // the whole directory, so the event's details do not matter and bursts coalesce.
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var changed = false
            while true {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { break }
                if !changed { changed = names.map { Self.anyEventCounts(buffer[0..<count], names: $0) } ?? true }
            }
            if changed { onChange() }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
        try? await gracefulShutdown()
        source.cancel()
    }

    /// Whether one of the `inotify_event` records in `bytes` counts: an overflow, an event on
    /// the directory itself (no name), or one whose name `names` accepts.
    static func anyEventCounts(_ bytes: ArraySlice<UInt8>, names: (String) -> Bool) -> Bool {
        // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
        let header = 16
        var offset = bytes.startIndex
        while offset + header <= bytes.endIndex {
            func field(_ at: Int) -> UInt32 {
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + at + $1]) << (8 * UInt32($1)) }
            }
            let eventMask = field(4)
            let length = Int(field(12))
            let nameBytes = bytes[(offset + header)..<min(offset + header + length, bytes.endIndex)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            if eventMask & UInt32(IN_Q_OVERFLOW) != 0 || name.isEmpty || names(name) { return true }
            offset += header + length
        }
        return false
    }
}
