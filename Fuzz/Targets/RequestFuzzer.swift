import Foundation

/// libFuzzer entry point for the `request` target (built by `scripts/fuzz.sh request`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzChecks.request(Data(bytes: bytes, count: count))
    return 0
}
