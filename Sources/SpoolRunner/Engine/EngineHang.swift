import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately hung engine loop, for testing the systemd watchdog only.
///
/// With `SPOOLRUNNER_HANG_AT_HEARTBEAT=N` the engine blocks its own loop for good at its N-th
/// heartbeat, as a deadlock would: every other thread goes on, so a test can check that the
/// watchdog pings stop with the loop and not with the process. Without the variable: one
/// comparison per heartbeat.
enum EngineHang {
    static let target: Int? = ProcessInfo.processInfo.environment["SPOOLRUNNER_HANG_AT_HEARTBEAT"].flatMap(Int.init)

    static func checkpoint(heartbeat: Int) {
        guard let target, heartbeat >= target else { return }
        FileHandle.standardError.write(
            Data("spoolrunner: SPOOLRUNNER_HANG_AT_HEARTBEAT=\(target): the engine loop hangs now\n".utf8))
        while true { sleep(3600) }
    }
}
