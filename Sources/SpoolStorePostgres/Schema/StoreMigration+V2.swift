extension StoreMigration {
    /// What `PostgresStore` needs to answer the whole `Store` protocol, as SQLite's store does:
    /// runner sessions, the metric counters, and a store order for status-file sweeps.
    static let v2StoreProtocol = StoreMigration(
        version: 2, name: "runner sessions, metric counters, process store order",
        statements: [
            // SQLite's runner_sessions plus the runner id: the runners row holds only the current
            // incarnation, a session row per start keeps the history (and whether the last one
            // stopped cleanly) per runner id.
            """
            CREATE TABLE runner_sessions (
                id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                runner_id  text NOT NULL,
                pid        int NOT NULL,
                version    text NOT NULL,
                started_at timestamptz NOT NULL,
                ended_at   timestamptz,
                clean_exit boolean NOT NULL DEFAULT false
            )
            """,
            "CREATE INDEX runner_sessions_by_runner ON runner_sessions (runner_id, id)",
            // Per runner: each runner's metrics file counts what that runner did, so a sum over the
            // fleet's files counts everything once. Advanced in the commit that records the change.
            """
            CREATE TABLE metric_counters (
                runner_id   text NOT NULL,
                metric      text NOT NULL,
                labels_json text NOT NULL,
                value       bigint NOT NULL,
                PRIMARY KEY (runner_id, metric, labels_json)
            )
            """,
            // SQLite's rowid: the cursor of a status-file sweep (`processStamps(after:)`).
            "ALTER TABLE processes ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY",
            "CREATE UNIQUE INDEX processes_by_seq ON processes (seq)",
            // SQLite's events have no foreign key: a `schedule_skipped` event names the process id
            // of a slot that was never submitted. Prune deletes events itself.
            "ALTER TABLE events DROP CONSTRAINT events_process_id_fkey",
            "CREATE INDEX subscriptions_by_process ON subscriptions (process_id)",
            """
            CREATE INDEX processes_finished_by_end ON processes (ended_at)
                WHERE status IN ('success', 'failed', 'cancelled')
            """,
        ])
}
