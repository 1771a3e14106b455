import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go (standard error) and what that place wants.
///
/// - Under systemd with stderr connected to the journal (`$JOURNAL_STREAM` equals the device and
///   inode of fd 2, as `sd_journal_stream_fd` documents), each line starts with the sd-daemon
///   priority prefix (`<3>` … `<7>`), so `journalctl -p warning` filters by our level, and carries
///   no timestamp of its own (the journal stamps every line).
/// - Otherwise each line carries an RFC 3339 UTC timestamp with milliseconds.
/// - Colour only on a terminal, with `TERM` not `dumb` and `NO_COLOR` unset or empty
///   (no-color.org).
package struct LogDestination: Sendable {
    package var journal: Bool
    package var color: Bool
    let descriptor: Int32

    package init(journal: Bool, color: Bool, descriptor: Int32 = STDERR_FILENO) {
        self.journal = journal
        self.color = color
        self.descriptor = descriptor
    }

    /// Decides from the environment and fd 2 itself.
    package static func standardError(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> LogDestination
    {
        let fd = STDERR_FILENO
        let journal = isJournal(descriptor: fd, journalStream: environment["JOURNAL_STREAM"])
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let color =
            !journal && !noColor && isatty(fd) == 1 && environment["TERM"] != "dumb" && environment["TERM"] != nil
        return LogDestination(journal: journal, color: color, descriptor: fd)
    }

    /// Whether `journalStream` ("DEV:INODE", decimal) names the file behind `descriptor`.
    package static func isJournal(descriptor: Int32, journalStream: String?) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Writes one whole line with as few `write(2)` calls as it takes (one, for any line below
    /// PIPE_BUF), so concurrent lines do not interleave.
    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
