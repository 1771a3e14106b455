extension StoreMigration {
    /// SPEC §7's tables with their names and columns (timestamps `timestamptz`, JSON `jsonb` but
    /// for the verbatim `request_json`), plus what several runners need to coordinate (§9).
    static let v1Schema = StoreMigration(
        version: 1, name: "history tables, runners, leases, definitions, subscriptions, schedule state",
        statements: [
            """
            CREATE TABLE processes (
                process_id          text PRIMARY KEY,
                process_type        text NOT NULL,
                status              text NOT NULL,
                inputs_json         jsonb NOT NULL,
                -- text, not jsonb: the request verbatim, for SPEC §3's byte-identical duplicate rule.
                request_json        text NOT NULL,
                created_at          timestamptz NOT NULL,
                started_at          timestamptz,
                ended_at            timestamptz,
                updated_at          timestamptz NOT NULL,
                error_json          jsonb,
                -- Restart recoveries and takeovers while running: the third ends it crash_loop.
                crash_count         int NOT NULL DEFAULT 0,
                request_sha256      bytea NOT NULL,
                definition_sha256   bytea NOT NULL,
                owner_runner        text,
                -- The fencing token: bumped on every claim, release and takeover.
                lease_epoch         bigint NOT NULL DEFAULT 0,
                takeovers           int NOT NULL DEFAULT 0,
                cancel_requested_at timestamptz
            )
            """,
            """
            CREATE INDEX processes_claimable ON processes (created_at, process_id)
                WHERE owner_runner IS NULL AND status IN ('pending', 'running')
            """,
            "CREATE INDEX processes_by_owner ON processes (owner_runner) WHERE owner_runner IS NOT NULL",
            "CREATE INDEX processes_by_created ON processes (created_at)",
            "CREATE INDEX processes_by_type ON processes (process_type, created_at)",
            "CREATE INDEX processes_by_status ON processes (status, created_at)",
            """
            CREATE TABLE tasks (
                process_id      text NOT NULL REFERENCES processes (process_id) ON DELETE CASCADE,
                task_name       text NOT NULL,
                position        int NOT NULL,
                mode            text NOT NULL,
                status          text NOT NULL,
                attempts        int NOT NULL DEFAULT 0,
                retry_base      int NOT NULL DEFAULT 0,
                started_at      timestamptz,
                ended_at        timestamptz,
                exit_code       int,
                output_json     jsonb,
                error_json      jsonb,
                next_attempt_at timestamptz,
                pid             int,
                pid_start_ticks bigint,
                on_failure      boolean NOT NULL DEFAULT false,
                sleep_until     timestamptz,
                -- Which runner ran the attempt (it holds the log), on which machine (pid is local).
                runner_id       text,
                machine_id      text,
                PRIMARY KEY (process_id, task_name)
            )
            """,
            """
            CREATE TABLE events (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                process_id  text NOT NULL REFERENCES processes (process_id) ON DELETE CASCADE,
                task_name   text,
                event       text NOT NULL,
                at          timestamptz NOT NULL,
                detail_json jsonb,
                runner_id   text
            )
            """,
            "CREATE INDEX events_by_process ON events (process_id, id)",
            """
            CREATE TABLE rejections (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                file_name   text NOT NULL,
                received_at timestamptz NOT NULL,
                code        text NOT NULL,
                message     text NOT NULL,
                runner_id   text
            )
            """,
            """
            CREATE TABLE runners (
                runner_id       text PRIMARY KEY,
                machine_id      text NOT NULL,
                boot_id         text NOT NULL,
                hostname        text NOT NULL,
                spool           text NOT NULL,
                pid             int NOT NULL,
                pid_start_ticks bigint,
                version         text NOT NULL,
                incarnation     bigint NOT NULL DEFAULT 1,
                started_at      timestamptz NOT NULL,
                heartbeat_at    timestamptz NOT NULL,
                expires_at      timestamptz NOT NULL,
                state           text NOT NULL CHECK (state IN ('alive', 'stopped', 'dead')),
                max_tasks       int NOT NULL,
                running_tasks   int NOT NULL DEFAULT 0,
                definitions     jsonb NOT NULL DEFAULT '{}'
            )
            """,
            """
            CREATE TABLE definitions (
                sha256        bytea PRIMARY KEY,
                process_type  text NOT NULL,
                yaml          text NOT NULL,
                first_seen_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE subscriptions (
                runner_id  text NOT NULL,
                process_id text NOT NULL REFERENCES processes (process_id) ON DELETE CASCADE,
                PRIMARY KEY (runner_id, process_id)
            )
            """,
            """
            CREATE TABLE schedule_state (
                process_type      text NOT NULL,
                entry             text NOT NULL,
                last_slot         timestamptz NOT NULL,
                last_process_id   text,
                last_submitted_at timestamptz,
                updated_at        timestamptz NOT NULL,
                PRIMARY KEY (process_type, entry)
            )
            """,
        ])
}
