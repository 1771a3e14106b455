import Dispatch
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP means "read the definitions again" (`systemctl reload`, `kill -HUP`), as for most
/// daemons; it never stops the runner.
package struct ReloadSignal: Service {
    let onReload: @Sendable () -> Void

    package init(onReload: @escaping @Sendable () -> Void) {
        self.onReload = onReload
    }

    package func run() async throws {
        // The default action of SIGHUP is to terminate; the dispatch source needs it ignored.
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "spoolrunner.sighup"))
        let onReload = self.onReload
        source.setEventHandler { onReload() }
        source.resume()
        try? await gracefulShutdown()
        source.cancel()
    }
}
