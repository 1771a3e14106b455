import Foundation
import SpoolStorePostgres

#if canImport(Glibc)
import Glibc
#endif

/// A runner's own way to the database, for the partition test: a small TCP proxy (Python's
/// standard library) in front of the test PostgreSQL. `cut()` closes every connection through it
/// and refuses new ones, as a network split seen from the runner's side; `heal()` lets them
/// through again. `holdReplies()` lets requests through but swallows what the server answers:
/// with a `cut()` after it, a reply lost after the server did the work.
final class TCPProxy: @unchecked Sendable {
    /// Forwards 127.0.0.1:<printed port> to argv[1]:argv[2]. SIGUSR1 cuts, SIGUSR2 heals,
    /// SIGHUP swallows the server's replies until the heal.
    static let script = #"""
        import signal, socket, sys, threading
        target = (sys.argv[1], int(sys.argv[2]))
        cut = threading.Event()
        hold = threading.Event()
        lock = threading.Lock()
        open_sockets = set()
        def close(*sockets):
            for s in sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
                with lock:
                    open_sockets.discard(s)
        def pipe(source, destination, replies):
            # Signals go to the main thread only, whose accept() wakes every 0.1 s to run the
            # handlers: one delivered to this thread waited for the next connection (a cut never
            # came, and a test waited on a held reply for good).
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP])
            try:
                while not cut.is_set():
                    data = source.recv(65536)
                    if not data:
                        break
                    if replies and hold.is_set():
                        continue
                    destination.sendall(data)
            except OSError:
                pass
            close(source, destination)
        def on_cut(*_):
            cut.set()
            with lock:
                sockets = list(open_sockets)
            for s in sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # the test process's threads block signals
        signal.signal(signal.SIGUSR1, on_cut)
        def on_heal(*_):
            hold.clear()
            cut.clear()
        signal.signal(signal.SIGUSR2, on_heal)
        signal.signal(signal.SIGHUP, lambda *_: hold.set())
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        server.settimeout(0.1)
        print(server.getsockname()[1], flush=True)
        while True:
            try:
                client, _ = server.accept()
            except socket.timeout:
                continue
            client.settimeout(None)
            if cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(target)
            except OSError:
                client.close()
                continue
            with lock:
                open_sockets.update((client, upstream))
            threading.Thread(target=pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, True), daemon=True).start()
        """#

    let process = Process()
    /// The store's URL, through this proxy.
    let url: StoreURL

    init(to url: StoreURL) throws {
        guard case .tcp(let host, let port) = url.endpoint else {
            throw POSIXError(.EINVAL)
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, host, "\(port)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        // The first line is the port it listens on.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw POSIXError(.EPIPE) }
            line += chunk
        }
        guard let text = String(data: line, encoding: .utf8),
            let listening = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw POSIXError(.EPROTO) }
        var proxied = url
        proxied.endpoint = .tcp(host: "127.0.0.1", port: listening)
        self.url = proxied
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Closes every connection through the proxy and refuses new ones.
    func cut() { kill(process.processIdentifier, SIGUSR1) }

    /// Lets connections through again (and replies, after `holdReplies()`).
    func heal() { kill(process.processIdentifier, SIGUSR2) }

    /// Passes what the client sends, swallows what the server answers.
    func holdReplies() { kill(process.processIdentifier, SIGHUP) }
}
