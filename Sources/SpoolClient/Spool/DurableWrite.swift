import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The two system-call loops every writer of the spool needs, the runner's and the clients'.
public enum DurableWrite {
    /// write(2) until everything is written, retrying on EINTR.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// fsync of a directory, so that a rename or unlink in it survives a power cut.
    public static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
