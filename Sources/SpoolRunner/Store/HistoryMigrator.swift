import GRDB

/// The history schema (SPEC §7), as frozen, named migrations.
///
/// The schema is part of the contract: users query it with `sqlite3`. Each migration also sets
/// `PRAGMA user_version`, so that version is visible without knowing GRDB's own bookkeeping.
/// Never edit a migration that has shipped; add a new one.
enum HistoryMigrator {
    static let currentVersion = 5

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 processes, tasks, events, rejections, runner_sessions") { db in
            try db.execute(
                sql: """
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
            try db.execute(
                sql: """
                    -- The spool this store belongs to: a runner on another spool refuses it.
                    CREATE TABLE spool_identity (
                        id          INTEGER PRIMARY KEY CHECK (id = 1),
                        spool_id    TEXT NOT NULL,
                        spool_path  TEXT NOT NULL,
                        recorded_at TEXT NOT NULL
                    );
                    ALTER TABLE tasks ADD COLUMN sleep_until TEXT;
                    """)
            // The migrations of one round may land in any order: user_version only grows.
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version < 2 { try db.execute(sql: "PRAGMA user_version = 2") }
        }
        // v2 is another change's (spool identity); this one is numbered after it so the two can
        // land in either order. user_version only ever grows.
        migrator.registerMigration("v3 schedule state") { db in
            try db.execute(
                sql: """
                    -- One row per schedule entry: the newest slot dealt with (submitted, skipped or
                    -- passed over by catch_up), so catch_up works after a downtime and serve --once
                    -- submits what came due since the last pass.
                    CREATE TABLE schedule_state (
                        process_type      TEXT NOT NULL,
                        entry             TEXT NOT NULL,    -- the entry's name; '' when unnamed
                        last_slot         TEXT NOT NULL,
                        last_process_id   TEXT,             -- id of the newest slot submitted
                        last_submitted_at TEXT,
                        updated_at        TEXT NOT NULL,
                        PRIMARY KEY (process_type, entry)
                    );
                    """)
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version < 3 { try db.execute(sql: "PRAGMA user_version = 3") }
        }
        migrator.registerMigration("v4 metric counters") { db in
            try db.execute(
                sql: """
                    -- The counters of the metrics file (--metrics-file), advanced in the same
                    -- transaction as the change they count: they never go down across restarts,
                    -- serve --once runs and prune, which deletes the history they counted.
                    CREATE TABLE metric_counters (
                        metric      TEXT NOT NULL,     -- e.g. spoolrunner_processes_total
                        labels_json TEXT NOT NULL,     -- {"process_type":"...","status":"..."}, keys sorted
                        value       INTEGER NOT NULL,
                        PRIMARY KEY (metric, labels_json)
                    );
                    """)
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version < 4 { try db.execute(sql: "PRAGMA user_version = 4") }
        }
        migrator.registerMigration("v5 status index ordered by creation") { db in
            try db.execute(
                sql: """
                    -- `history --status S` lists the newest first: with (status) alone SQLite sorted
                    -- every process of that status (0.5 s for 100,000 failed of 1,000,000); with
                    -- created_at in the index it reads the newest 50 in order. Same writes as before.
                    DROP INDEX IF EXISTS processes_by_status;
                    CREATE INDEX processes_by_status ON processes(status, created_at);
                    """)
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version < 5 { try db.execute(sql: "PRAGMA user_version = 5") }
        }
        return migrator
    }
}
