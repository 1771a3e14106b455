import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Under systemd (`Type=notify`), `serve` says READY=1 once it takes requests and STOPPING=1
/// when it begins to shut down, as datagrams to the socket named by NOTIFY_SOCKET.
@Suite(.endToEnd) struct SystemdNotifyTests {
    @Test func serveSendsReadyAndStopping() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", "tasks:\n  - name: nap\n    sleep: 1ms\n")
        let path = spool.root.appendingPathComponent("notify.sock").path
        let socket = try DatagramSocket(path: path)
        let runner = try spool.start(["serve"], environment: ["NOTIFY_SOCKET": path])
        let ready = socket.receive(timeout: 20)
        #expect(ready?.contains("READY=1") == true, "\(String(describing: ready))")
        runner.signal(SIGTERM)
        let stopping = socket.receive(timeout: 20)
        #expect(stopping?.contains("STOPPING=1") == true, "\(String(describing: stopping))")
        #expect(await runner.wait().status == 0)
    }
}

/// A bound AF_UNIX datagram socket, standing in for systemd's notify socket.
final class DatagramSocket {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (offset, byte) in bytes.enumerated() { buffer[offset] = byte }
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(descriptor)
    }

    /// The next datagram as text, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
