import ArgumentParser
import Foundation
import SpoolStorePostgres

extension StoreOptions {
    /// The parsed URL when `--store` or `SPOOLRUNNER_STORE` gives one; nil for the SQLite store.
    /// A bad one is a usage error (64) naming what is wrong, never the password.
    func urlIfGiven() throws -> StoreURL? {
        guard let text = store ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_STORE"], !text.isEmpty else {
            if storePasswordFile != nil {
                throw ValidationError("--store-password-file needs --store (or SPOOLRUNNER_STORE)")
            }
            return nil
        }
        return try url()
    }
}
