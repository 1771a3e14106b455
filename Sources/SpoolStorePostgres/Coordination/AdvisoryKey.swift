/// The 64-bit keys of the store's advisory locks, one per purpose and schema, so two fleets in
/// two schemas of one database never share a lock.
enum AdvisoryKey {
    /// Held (transaction-scoped) while migrations run.
    static func migrations(schema: String?) -> Int64 { key("spoolrunner.migrations", schema) }
    /// Held (session-scoped, on the control connection) by the leader.
    static func leader(schema: String?) -> Int64 { key("spoolrunner.leader", schema) }

    /// FNV-1a over the UTF-8 bytes: stable across builds and hosts, unlike `Hasher`.
    static func key(_ purpose: String, _ schema: String?) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(purpose)/\(schema ?? "public")".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
