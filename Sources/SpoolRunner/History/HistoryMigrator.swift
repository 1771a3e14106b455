import GRDB

/// The history schema (SPEC §7), as frozen, named migrations.
///
/// The schema is part of the contract: users query it with `sqlite3`. Each migration also sets
/// `PRAGMA user_version`, so that version is visible without knowing GRDB's own bookkeeping.
/// Never edit a migration that has shipped; add a new one.
enum HistoryMigrator {
    static let currentVersion = 2

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 processes, tasks, events, rejections, runner_sessions") { db in
            try db.execute(sql: """
                CREATE TABLE processes (
                    process_id   TEXT PRIMARY KEY NOT NULL,
                    process_type TEXT NOT NULL,
                    status       TEXT NOT NULL,
                    inputs_json  TEXT NOT NULL,
                    request_json TEXT NOT NULL,
                    created_at   TEXT NOT NULL,
                    started_at   TEXT,
                    ended_at     TEXT,
                    updated_at   TEXT NOT NULL,
                    error_json   TEXT,
                    crash_count  INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX processes_by_status ON processes(status);
                CREATE INDEX processes_by_created ON processes(created_at);
                CREATE INDEX processes_by_type ON processes(process_type, created_at);

                CREATE TABLE tasks (
                    process_id      TEXT NOT NULL REFERENCES processes(process_id) ON DELETE CASCADE,
                    task_name       TEXT NOT NULL,
                    position        INTEGER NOT NULL,
                    mode            TEXT NOT NULL,
                    status          TEXT NOT NULL,
                    attempts        INTEGER NOT NULL DEFAULT 0,
                    retry_base      INTEGER NOT NULL DEFAULT 0,
                    started_at      TEXT,
                    ended_at        TEXT,
                    exit_code       INTEGER,
                    output_json     TEXT,
                    error_json      TEXT,
                    next_attempt_at TEXT,
                    pid             INTEGER,
                    pid_start_ticks INTEGER,
                    on_failure      INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (process_id, task_name)
                );

                CREATE TABLE events (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    process_id  TEXT NOT NULL,
                    task_name   TEXT,
                    event       TEXT NOT NULL,
                    at          TEXT NOT NULL,
                    detail_json TEXT
                );
                CREATE INDEX events_by_process ON events(process_id, id);

                CREATE TABLE rejections (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    file_name   TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    code        TEXT NOT NULL,
                    message     TEXT NOT NULL
                );

                CREATE TABLE runner_sessions (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    pid        INTEGER NOT NULL,
                    version    TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    ended_at   TEXT,
                    clean_exit INTEGER NOT NULL DEFAULT 0
                );
                PRAGMA user_version = 1;
                """)
        }
        migrator.registerMigration("v2 spool identity, sleep deadlines") { db in
            try db.execute(sql: """
                -- The spool this store belongs to: a runner on another spool refuses it.
                CREATE TABLE spool_identity (
                    id          INTEGER PRIMARY KEY CHECK (id = 1),
                    spool_id    TEXT NOT NULL,
                    spool_path  TEXT NOT NULL,
                    recorded_at TEXT NOT NULL
                );
                ALTER TABLE tasks ADD COLUMN sleep_until TEXT;
                PRAGMA user_version = 2;
                """)
        }
        return migrator
    }
}
