import Foundation

/// libFuzzer entry point for the `definition` target (built by `scripts/fuzz.sh definition`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzChecks.definition(Data(bytes: bytes, count: count))
    return 0
}
