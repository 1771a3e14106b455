import Foundation

/// Unbuffered writes to standard error.
enum FileHandleOutput {
    static func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
