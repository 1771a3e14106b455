import ArgumentParser
import SpoolRunner

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

    /// The history store cannot be opened, read or written: 74.
    ///
    /// `HistoryError` has no code yet. When the store's `StoreError` (issue 9 part A) replaces
    /// it, map its code here: `notFound` → `noInput` (66), `foreignSpool` → `foreignStore` (78),
    /// every other code → `ioError` (74); the call sites stay as they are.
    static func of(_ error: HistoryError) -> ExitCode {
        ioError
    }

    /// A failure whose type the command does not know in advance (a service of `serve`).
    static func of(_ error: any Error) -> ExitCode {
        switch error {
        case let error as SpoolError: of(error)
        case is StoreOwnershipError: foreignStore
        case let error as HistoryError: of(error)
        default: ioError
        }
    }
}
