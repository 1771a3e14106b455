/// Process ids: the request's file name without `.json`, and the idempotency key (SPEC §3).
public enum ProcessID {
    public static let maxLength = 128

    /// `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`, checked byte by byte (no regex on the hot path).
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard let first = bytes.first, bytes.count <= maxLength, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// `proc_` + 12 lowercase hex digits, as `spoolrunner submit` makes them.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() & 0xFFFF_FFFF_FFFF
        let hex = String(value, radix: 16)
        return "proc_" + String(repeating: "0", count: 12 - hex.count) + hex
    }
}
