import Foundation

/// libFuzzer entry point for the `template` target (built by `scripts/fuzz.sh template`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzChecks.template(Data(bytes: bytes, count: count))
    return 0
}
