import ArgumentParser
import SpoolStore

/// The documented exit statuses (sysexits.h where one fits).
enum ExitStatus {
    static let failed = ExitCode(1)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let cannotCreate = ExitCode(73)
    static let ioError = ExitCode(74)
    static let locked = ExitCode(75)
    /// EX_NOPERM: a spool laid out so that another user could redirect the runner's writes.
    static let unsafeSpool = ExitCode(77)
    /// The history store belongs to another spool (EX_CONFIG).
    static let foreignStore = ExitCode(78)
    /// The PostgreSQL store's schema is newer than this build (EX_PROTOCOL): upgrade spoolrunner.
    static let storeTooNew = ExitCode(76)
    static let timedOut = ExitCode(124)
}

/// Prints a one-line error to standard error and exits with `code`.
func fail(_ message: String, _ code: ExitCode) -> ExitCode {
    var stderr = StandardError()
    print("spoolrunner: \(message)", to: &stderr)
    return code
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleOutput.write(string)
    }
}

/// Prints a store failure and returns its exit status.
func fail(_ error: StoreError) -> ExitCode {
    fail(error.description, ExitStatus.of(error))
}
