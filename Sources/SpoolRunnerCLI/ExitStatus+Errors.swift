import ArgumentParser
import SpoolRunner
import SpoolStore

/// The exit status of a failure, chosen from its code, never from its message (README "Exit
/// status", SPEC §8).
extension ExitStatus {
    static func of(_ error: SpoolError) -> ExitCode {
        switch error.code {
        // 73: the spool cannot be made or written, one of its own files is damaged, or (for
        // `submit`) a request of the same id is still waiting in it.
        case .cannotCreate, .cannotWrite, .alreadyWaiting, .corrupt: cannotCreate
        // 66: EX_NOINPUT, a file that is there but cannot be read.
        case .cannotRead: noInput
        case .locked: locked
        case .unsafe: unsafeSpool
        }
    }

    /// A store failure, by its code.
    static func of(_ error: StoreError) -> ExitCode {
        switch error.code {
        // 66: no store yet (no runner has run on this spool).
        case .notFound: noInput
        // 78: EX_CONFIG, the store is not this spool's.
        case .foreignSpool: foreignStore
        // 76: the store's schema is newer than this spoolrunner (the same code for both stores).
        case .schemaTooNew: storeTooNew
        // 74: the store cannot be opened, read or written (busy past the timeout, full, corrupt).
        case .busy, .cannotOpen, .full, .failed: ioError
        }
    }

    /// A failure whose type the command does not know in advance (a service of `serve`).
    static func of(_ error: any Error) -> ExitCode {
        switch error {
        case let error as SpoolError: of(error)
        case let error as StoreError: of(error)
        default: ioError
        }
    }
}
