import Foundation

/// libFuzzer entry point for the `cron` target (built by `scripts/fuzz.sh cron`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzChecks.cron(Data(bytes: bytes, count: count))
    return 0
}
