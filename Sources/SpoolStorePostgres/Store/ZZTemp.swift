import SpoolStore
extension PostgresStore {
    func snapshots(_ ids: [String]) async throws(StoreError) -> [String: StoredProcess] { [:] }
}
