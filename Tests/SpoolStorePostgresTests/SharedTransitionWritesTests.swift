import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

/// The writes of a batch of transitions (the `tasks` upsert above all) are one SQL function,
/// `spoolrunner_write_transitions` (migration 5), that the engine's commit and every
/// multi-statement path (reaper, control actions, schedules, `store copy`) call: a column of
/// `tasks` changes in one place.
@Suite("One SQL for the transition writes")
struct SharedTransitionWritesTests {
    @Test("the engine's commit and the multi-statement writes both go through spoolrunner_write_transitions")
    func bothPathsCallTheSharedFunction() async throws {
        try await withStores("shared_writes") { stores in
            let store = stores[0]
            // Exactly one function of the schema upserts tasks, and the commit calls it.
            #expect(
                try await store.values(
                    """
                    SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.prosrc ILIKE '%INSERT INTO tasks%'
                    """, as: String.self) == ["spoolrunner_write_transitions"])
            #expect(
                try await store.value(
                    "SELECT prosrc FROM pg_proc WHERE proname = 'spoolrunner_commit'", as: String.self
                )?.contains("PERFORM spoolrunner_write_transitions(p_runner, p_batch, v_kept)") == true)

            let lease = try await store.registerTestRunner()
            _ = try await store.accept(testRequest("p1"), fileName: "p1", claimIfCapacity: false, lease: lease)
            #expect(try await store.claim(limit: 1, lease: lease).map(\.leaseEpoch) == [1])

            // A spy in front of the shared function records every call, then writes as it does.
            try await store.execute(
                "ALTER FUNCTION spoolrunner_write_transitions(text, jsonb, text[]) RENAME TO spied_write_transitions")
            try await store.execute("CREATE TABLE write_calls (n serial PRIMARY KEY, tasks text)")
            try await store.execute(
                """
                CREATE FUNCTION spoolrunner_write_transitions(p_runner text, p_rows jsonb, p_only text[])
                    RETURNS void LANGUAGE plpgsql AS $fn$
                BEGIN
                    INSERT INTO write_calls (tasks)
                    SELECT coalesce(string_agg((t->>'process_id') || '/' || (t->>'task_name') || '=' || (t->>'status'),
                                               ' '), '')
                      FROM jsonb_array_elements(coalesce(p_rows->'tasks', '[]')) AS t;
                    PERFORM spied_write_transitions(p_runner, p_rows, p_only);
                END
                $fn$
                """)

            // The multi-statement path (`writeTransitions`, as the reaper, control actions,
            // schedules and `store copy` use it).
            let result = try await store.commit([CommitTests.startTask("p1", epoch: 1, at: 0)], lease: lease)
            #expect(result.committed == ["p1"])
            #expect(
                try await store.values("SELECT tasks FROM write_calls ORDER BY n", as: String.self) == ["p1/t0=running"]
            )

            // The engine's one-call commit.
            let batch = """
                {"new": [], "fence": [{"process_id": "p1", "lease_epoch": 1}], "ids": ["p1"],
                 "processes": [{"process_id": "p1", "status": "success", "started_at": "2026-11-30T06:01:00.000Z",
                                "ended_at": "2026-11-30T06:01:02.000Z", "updated_at": "2026-11-30T06:01:02.000Z",
                                "crash_count": 0}],
                 "tasks": [{"process_id": "p1", "task_name": "t0", "position": 0, "mode": "sync", "status": "success",
                            "attempts": 1, "retry_base": 0, "exit_code": 0, "on_failure": false,
                            "runner_id": "runner-0"}],
                 "events": [{"process_id": "p1", "task_name": "t0", "event": "task_succeeded",
                             "at": "2026-11-30T06:01:02.000Z"}],
                 "rejections": [], "counters": [], "notify": false}
                """
            let answer: String? = try await store.value(
                """
                SELECT spoolrunner_commit('runner-0', \(lease.incarnation)::int8, \(UUID())::uuid, 1::int8,
                                          NULL::int4, \(batch)::jsonb)->>'written'
                """)
            #expect(answer == #"["p1"]"#)
            #expect(
                try await store.values("SELECT tasks FROM write_calls ORDER BY n", as: String.self) == [
                    "p1/t0=running", "p1/t0=success",
                ])
            // And the spied function wrote what it always wrote.
            #expect(
                try await store.value(
                    "SELECT status || ' ' || exit_code || ' ' || runner_id FROM tasks WHERE process_id = 'p1' AND task_name = 't0'",
                    as: String.self) == "success 0 runner-0")
            #expect(
                try await store.value("SELECT status FROM processes WHERE process_id = 'p1'", as: String.self)
                    == "success")
            #expect(
                try await store.values("SELECT event FROM events WHERE process_id = 'p1' ORDER BY id", as: String.self)
                    == ["accepted", "task_started", "process_started", "task_succeeded"])
        }
    }
}
