import Dispatch
import Foundation
import ProcessDefinitions
import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The terminal side of `spoolrunner watch`: raw keyboard input, the alternate screen, inotify on
/// `outbox/` to redraw soon after a change, and the plain-lines fallback.
struct WatchView {
    let layout: SpoolLayout
    let databasePath: String
    let interval: Duration
    let store: any StoreReader

    init(layout: SpoolLayout, databasePath: String, interval: Duration) {
        self.layout = layout
        self.databasePath = databasePath
        self.interval = interval
        store = SQLiteStore(readOnlyPath: databasePath)
    }

    /// The snapshot now; the store is read once it exists (a runner creates it). nil when the
    /// store cannot be read now: the screen keeps what it showed and tries again.
    func snapshot() -> WatchSnapshot? {
        let exists = FileManager.default.fileExists(atPath: databasePath)
        let (layout, store) = (layout, store)
        return try? BlockingWait.run { try await WatchSnapshot.read(layout: layout, store: exists ? store : nil) }
    }

    /// One redraw per change or interval until `q`, Ctrl-C or SIGTERM.
    mutating func live() {
        var saved = termios()
        let keyboard = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0
        if keyboard {
            var raw = saved
            // No line buffering, no echo, and Ctrl-C as a byte (so the screen is always restored).
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
            tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        }
        let restore = { [saved] in
            if keyboard {
                var original = saved
                tcsetattr(STDIN_FILENO, TCSANOW, &original)
            }
            Self.write("\u{1B}[?25h\u{1B}[?1049l")
        }
        signal(SIGTERM, SIG_IGN)
        let terminate = DispatchSource.makeSignalSource(
            signal: SIGTERM, queue: DispatchQueue(label: "spoolrunner.watch"))
        terminate.setEventHandler {
            restore()
            exit(0)
        }
        terminate.resume()
        Self.write("\u{1B}[?1049h\u{1B}[?25l")
        let watcher = Self.outboxWatch(layout.outbox)
        defer { if watcher >= 0 { close(watcher) } }
        while true {
            if let snapshot = snapshot() {
                let screen = WatchScreen(color: true, width: Self.terminalWidth())
                let lines = screen.lines(snapshot, spool: layout.root, now: Date())
                Self.write("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\u{1B}[J")
            }
            if Self.waitForInput(keyboard: keyboard, watcher: watcher, interval: interval) {
                restore()
                return
            }
        }
    }

    /// Plain lines: a line per process whenever what it shows changes, and the counts when they
    /// change; for logs, pipes and NO_COLOR.
    mutating func plain() {
        Self.write(
            "spoolrunner watch \(layout.root): plain lines (standard output is not a terminal or NO_COLOR is set)\n")
        let watcher = Self.outboxWatch(layout.outbox)
        let screen = WatchScreen(color: false, width: 200)
        var shown: [String: String] = [:]
        var lastCounts = ""
        while true {
            if let snapshot = snapshot() {
                let now = Date()
                let stamp = Timestamp.string(now)
                let counts =
                    "inbox \(snapshot.inboxWaiting) waiting · \(snapshot.running) running · \(snapshot.pending) pending"
                var out = ""
                if counts != lastCounts {
                    out += "\(stamp)  \(counts)\n"
                    lastCounts = counts
                }
                for process in snapshot.processes {
                    // What changes the line: status, progress, running task (not the ticking time).
                    let key =
                        "\(process.status.rawValue) \(process.tasksEnded)/\(process.tasksTotal) \(process.runningTask ?? "")"
                    guard shown[process.processID] != key else { continue }
                    shown[process.processID] = key
                    out += "\(stamp)  \(screen.line(process, idWidth: 24, typeWidth: 16, now: now))\n"
                }
                // Output that cannot be written ends the command. This exit is also what lets a
                // release build finish: on this loop without one, Swift 6.3.1's optimizer
                // (loop-invariant code motion) ran for as long as it was let.
                if !out.isEmpty, !Self.write(out) { return }
            }
            _ = Self.waitForInput(keyboard: false, watcher: watcher, interval: interval)
        }
    }

    /// Waits for a key, a change in outbox/ or the interval. Returns true when the user quits.
    static func waitForInput(keyboard: Bool, watcher: Int32, interval: Duration) -> Bool {
        var fds: [pollfd] = []
        if keyboard { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
        if watcher >= 0 { fds.append(pollfd(fd: watcher, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = Int32(clamping: Int64((interval.seconds * 1000).rounded(.down)))
        guard poll(&fds, nfds_t(fds.count), max(10, milliseconds)) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        for entry in fds where entry.revents & Int16(POLLIN) != 0 {
            let count = read(entry.fd, &buffer, buffer.count)
            if entry.fd == STDIN_FILENO, count > 0,
                buffer[0..<count].contains(where: { $0 == UInt8(ascii: "q") || $0 == UInt8(ascii: "Q") || $0 == 3 })
            {
                return true
            }
        }
        // Coalesce a burst of status writes into one redraw.
        usleep(20_000)
        if watcher >= 0 { while read(watcher, &buffer, buffer.count) > 0 {} }
        return false
    }

    /// An inotify descriptor on outbox/ (non-blocking), or -1 (then the interval alone redraws).
    static func outboxWatch(_ outbox: String) -> Int32 {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return -1 }
        if inotify_add_watch(fd, outbox, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)) < 0 {
            close(fd)
            return -1
        }
        return fd
    }

    static func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// Writes all of `text` to standard output; false when it cannot be written (a full disk, a closed
    /// descriptor).
    @discardableResult
    static func write(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written <= 0 { if errno == EINTR { continue } else { return false } }
            offset += written
        }
        return true
    }
}
