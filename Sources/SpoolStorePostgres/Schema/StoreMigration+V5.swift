extension StoreMigration {
    /// One SQL for the writes of a batch of transitions (the `processes` update, the `tasks`
    /// upsert, the `events` insert): `spoolrunner_write_transitions`, called by the engine's
    /// commit (`spoolrunner_commit`, redefined here to call it instead of its own copy) and by
    /// every multi-statement path (`PostgresStore.writeTransitions`: the reaper, control actions,
    /// schedules, `store copy`). A column of `tasks` changes in one place.
    ///
    /// Additive, like every migration: `spoolrunner_commit` keeps its signature and its answer,
    /// so a runner of the previous version that is already running keeps working (its own
    /// statements write the same columns); one started after this migration refuses the newer
    /// schema (exit 76), as every older runner does.
    static let v5SharedTransitionWrites = StoreMigration(
        version: 5, name: "one SQL for the transition writes (spoolrunner_write_transitions)",
        statements: [
            // The rows are `TransitionRows` as JSON ({processes, tasks, events}); `p_only` limits
            // the writes to those processes (the commit's inserted and fenced ids), NULL writes
            // them all. Events are this runner's (`p_runner`); a task row names the runner that
            // ran it, or keeps the one it had when the row leaves it out (reaper, control).
            """
            CREATE FUNCTION spoolrunner_write_transitions(p_runner text, p_rows jsonb, p_only text[])
                RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
            BEGIN
                UPDATE processes p
                   SET status = u.status, started_at = u.started_at::timestamptz, ended_at = u.ended_at::timestamptz,
                       updated_at = u.updated_at::timestamptz, error_json = u.error_json::jsonb,
                       crash_count = u.crash_count,
                       owner_runner = CASE WHEN u.status IN ('pending', 'running') THEN p.owner_runner END
                  FROM jsonb_to_recordset(coalesce(p_rows->'processes', '[]')) AS u(
                       process_id text, status text, started_at text, ended_at text, updated_at text,
                       error_json text, crash_count int)
                 WHERE p.process_id = u.process_id AND (p_only IS NULL OR u.process_id = ANY(p_only));

                INSERT INTO tasks (process_id, task_name, position, mode, status, attempts, retry_base, started_at,
                                   ended_at, exit_code, output_json, error_json, next_attempt_at, pid,
                                   pid_start_ticks, on_failure, sleep_until, runner_id, machine_id)
                SELECT u.process_id, u.task_name, u.position, u.mode, u.status, u.attempts, u.retry_base,
                       u.started_at::timestamptz, u.ended_at::timestamptz, u.exit_code, u.output_json::jsonb,
                       u.error_json::jsonb, u.next_attempt_at::timestamptz, u.pid, u.pid_start_ticks,
                       u.on_failure, u.sleep_until::timestamptz, u.runner_id, u.machine_id
                  FROM jsonb_to_recordset(coalesce(p_rows->'tasks', '[]')) AS u(
                       process_id text, task_name text, position int, mode text, status text, attempts int,
                       retry_base int, started_at text, ended_at text, exit_code int, output_json text,
                       error_json text, next_attempt_at text, pid int, pid_start_ticks bigint, on_failure boolean,
                       sleep_until text, runner_id text, machine_id text)
                 WHERE p_only IS NULL OR u.process_id = ANY(p_only)
                ON CONFLICT (process_id, task_name) DO UPDATE SET
                       position = EXCLUDED.position, mode = EXCLUDED.mode, status = EXCLUDED.status,
                       attempts = EXCLUDED.attempts, retry_base = EXCLUDED.retry_base,
                       started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                       exit_code = EXCLUDED.exit_code, output_json = EXCLUDED.output_json,
                       error_json = EXCLUDED.error_json, next_attempt_at = EXCLUDED.next_attempt_at,
                       pid = EXCLUDED.pid, pid_start_ticks = EXCLUDED.pid_start_ticks,
                       on_failure = EXCLUDED.on_failure, sleep_until = EXCLUDED.sleep_until,
                       runner_id = COALESCE(EXCLUDED.runner_id, tasks.runner_id),
                       machine_id = COALESCE(EXCLUDED.machine_id, tasks.machine_id);

                -- In the batch's order: events of a process read back in the order they happened.
                INSERT INTO events (process_id, task_name, event, at, detail_json, runner_id)
                SELECT e.v->>'process_id', e.v->>'task_name', e.v->>'event', (e.v->>'at')::timestamptz,
                       (e.v->>'detail_json')::jsonb, p_runner
                  FROM jsonb_array_elements(coalesce(p_rows->'events', '[]')) WITH ORDINALITY AS e(v, n)
                 WHERE p_only IS NULL OR e.v->>'process_id' = ANY(p_only)
                 ORDER BY e.n;
            END
            $fn$
            """,
            // The commit of migration 4, the same in every step, with its writes done by the
            // shared function.
            """
            CREATE OR REPLACE FUNCTION spoolrunner_commit(
                p_runner text, p_incarnation bigint, p_writer uuid, p_seq bigint, p_lock_timeout_ms int,
                p_batch jsonb
            ) RETURNS jsonb
                LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
            DECLARE
                v_new text[];
                v_inserted text[];
                v_owned jsonb;
                v_fenced text[];
                v_cancel text[];
                v_kept text[];
                v_lost text[];
                v_result jsonb;
                v_channel text;
                v_payload text;
                v_id text;
                r record;
            BEGIN
                IF p_lock_timeout_ms IS NOT NULL THEN
                    PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
                END IF;
                -- The token first: a retry running while its first attempt still commits waits
                -- here on the key, then finds the first attempt's answer.
                IF p_seq IS NOT NULL THEN
                    INSERT INTO commit_tokens (runner_id, incarnation, writer, seq)
                    VALUES (p_runner, coalesce(p_incarnation, 0), p_writer, p_seq)
                    ON CONFLICT DO NOTHING;
                    IF NOT FOUND THEN
                        SELECT result INTO v_result FROM commit_tokens
                         WHERE runner_id = p_runner AND incarnation = coalesce(p_incarnation, 0)
                           AND writer = p_writer AND seq = p_seq;
                        RETURN v_result || '{"replayed": true}'::jsonb;
                    END IF;
                END IF;

                SELECT coalesce(array_agg(n.process_id), '{}') INTO v_new
                  FROM jsonb_to_recordset(coalesce(p_batch->'new', '[]')) AS n(process_id text);
                WITH ins AS (
                    INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                           started_at, ended_at, updated_at, error_json, crash_count, request_sha256,
                                           definition_sha256, owner_runner, lease_epoch)
                    SELECT u.process_id, u.process_type, u.status, u.inputs_json, u.request_json,
                           u.created_at::timestamptz, u.started_at::timestamptz, u.ended_at::timestamptz,
                           u.updated_at::timestamptz, u.error_json, u.crash_count,
                           sha256(convert_to(u.request_json, 'UTF8')), decode(u.definition_sha256, 'hex'),
                           CASE WHEN alive.yes AND u.status IN ('pending', 'running') THEN p_runner END, 1
                      FROM ROWS FROM (jsonb_to_recordset(coalesce(p_batch->'new', '[]')) AS (
                             process_id text, process_type text, status text, inputs_json jsonb, request_json text,
                             created_at text, started_at text, ended_at text, updated_at text, error_json jsonb,
                             crash_count int, definition_sha256 text)) WITH ORDINALITY AS u(
                             process_id, process_type, status, inputs_json, request_json, created_at, started_at,
                             ended_at, updated_at, error_json, crash_count, definition_sha256, n),
                           (SELECT EXISTS (SELECT 1 FROM runners WHERE runner_id = p_runner
                                             AND incarnation = p_incarnation AND state = 'alive') AS yes) alive
                     ORDER BY u.n
                    ON CONFLICT (process_id) DO NOTHING
                    RETURNING process_id, owner_runner IS NOT NULL AS owned, lease_epoch)
                SELECT coalesce(array_agg(ins.process_id), '{}'),
                       coalesce(jsonb_object_agg(ins.process_id, ins.lease_epoch) FILTER (WHERE ins.owned), '{}')
                  INTO v_inserted, v_owned FROM ins;
                IF cardinality(v_inserted) > 0 THEN
                    INSERT INTO subscriptions (runner_id, process_id)
                    SELECT p_runner, id FROM unnest(v_inserted) AS id ON CONFLICT DO NOTHING;
                END IF;

                -- The fence: the rows this incarnation owns under the epochs it holds them by.
                SELECT coalesce(array_agg(f.process_id), '{}'),
                       coalesce(array_agg(f.process_id) FILTER (WHERE f.cancel), '{}')
                  INTO v_fenced, v_cancel
                  FROM (SELECT p.process_id, p.cancel_requested_at IS NOT NULL AS cancel
                          FROM processes p
                          JOIN jsonb_to_recordset(coalesce(p_batch->'fence', '[]'))
                               AS h(process_id text, lease_epoch bigint)
                            ON p.process_id = h.process_id AND p.lease_epoch = h.lease_epoch
                         WHERE p.owner_runner = p_runner
                           AND EXISTS (SELECT 1 FROM runners rn WHERE rn.runner_id = p_runner
                                         AND rn.incarnation = p_incarnation AND rn.state = 'alive')
                         ORDER BY p.process_id
                           FOR UPDATE OF p) f;
                v_kept := v_inserted || v_fenced;

                -- The writes, only for the rows inserted or fenced: the one SQL every path shares.
                PERFORM spoolrunner_write_transitions(p_runner, p_batch, v_kept);

                -- The hosts where these requests were dropped write their status files: one
                -- notification per runner, ids split so that no payload exceeds 7,900 bytes.
                IF coalesce((p_batch->>'notify')::boolean, true) THEN
                    FOR r IN SELECT s.runner_id, array_agg(s.process_id ORDER BY s.process_id) AS ids
                               FROM subscriptions s
                              WHERE s.process_id = ANY(v_fenced) AND s.runner_id <> p_runner
                              GROUP BY s.runner_id ORDER BY s.runner_id LOOP
                        v_channel := spoolrunner_status_channel(r.runner_id);
                        v_payload := '';
                        FOREACH v_id IN ARRAY r.ids LOOP
                            IF v_payload <> '' AND octet_length(v_payload) + 1 + octet_length(v_id) > 7900 THEN
                                PERFORM pg_notify(v_channel, v_payload);
                                v_payload := '';
                            END IF;
                            v_payload := CASE WHEN v_payload = '' THEN v_id ELSE v_payload || ' ' || v_id END;
                        END LOOP;
                        IF v_payload <> '' THEN
                            PERFORM pg_notify(v_channel, v_payload);
                        END IF;
                    END LOOP;
                END IF;

                INSERT INTO rejections (file_name, received_at, code, message, runner_id)
                SELECT j.file_name, j.received_at::timestamptz, j.code, j.message, p_runner
                  FROM ROWS FROM (jsonb_to_recordset(coalesce(p_batch->'rejections', '[]'))
                         AS (file_name text, received_at text, code text, message text)) WITH ORDINALITY
                       AS j(file_name, received_at, code, message, n)
                 ORDER BY j.n;

                INSERT INTO metric_counters (runner_id, metric, labels_json, value)
                SELECT p_runner, c.metric, c.labels_json, c.value
                  FROM jsonb_to_recordset(coalesce(p_batch->'counters', '[]'))
                       AS c(metric text, labels_json text, value bigint)
                ON CONFLICT (runner_id, metric, labels_json)
                   DO UPDATE SET value = metric_counters.value + EXCLUDED.value;

                -- Lost: a held process not fenced, a new one someone else inserted first or
                -- that could not be owned (the incarnation is not alive).
                SELECT coalesce(array_agg(DISTINCT x.id), '{}') INTO v_lost
                  FROM (SELECT id FROM jsonb_array_elements_text(coalesce(p_batch->'ids', '[]')) AS id
                         WHERE NOT id = ANY(v_kept)
                        UNION ALL
                        SELECT id FROM unnest(v_new) AS id WHERE NOT v_owned ? id) x;
                v_result := jsonb_build_object(
                    'owned', v_owned, 'written', to_jsonb(v_kept), 'lost', to_jsonb(v_lost),
                    'cancel', to_jsonb(v_cancel));
                IF p_seq IS NOT NULL THEN
                    UPDATE commit_tokens SET result = v_result
                     WHERE runner_id = p_runner AND incarnation = coalesce(p_incarnation, 0)
                       AND writer = p_writer AND seq = p_seq;
                    -- A retry comes only for the batch whose reply was lost, the latest: keep a
                    -- few per writer; other writers of this runner id (earlier processes) an hour.
                    IF p_seq % 64 = 0 THEN
                        DELETE FROM commit_tokens
                         WHERE runner_id = p_runner
                           AND ((writer = p_writer AND seq < p_seq - 64)
                                OR (writer <> p_writer AND committed_at < now() - interval '1 hour'));
                    END IF;
                END IF;
                RETURN v_result;
            END
            $fn$
            """,
        ])
}
