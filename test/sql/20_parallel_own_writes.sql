-- A transaction's own inserts, still in its insert buffer, must be seen by the parallel
-- workers of its later queries. Workers read only the shared tree, and they can run an alexidx
-- scan that the leader never begins: a non-partial child of a Parallel Append, or the inner
-- side of a parallel nested loop when the leader does not take part. Each query runs through
-- the index with workers (their plans and launches are checked) and is compared with a seq
-- scan in the same transaction.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_bitmapscan = off;
-- no Parallel Index Scan of the alexidx index: its scan runs in one participant
SET min_parallel_index_scan_size = '1GB';
SET parallel_leader_participation = off;

CREATE TABLE pw_inner (k bigint, v bigint);
INSERT INTO pw_inner SELECT g * 10, g FROM generate_series(1, 10000) g;
CREATE INDEX pw_inner_ax ON pw_inner USING alexidx (k);
CREATE TABLE pw_outer (x bigint) WITH (parallel_workers = 2);
INSERT INTO pw_outer SELECT g FROM generate_series(1, 200000) g;
VACUUM ANALYZE pw_inner, pw_outer;

-- The query's plan names the alexidx index, and its workers ran.
CREATE FUNCTION pw_plan(q text) RETURNS TABLE (uses_alexidx boolean, workers_ran boolean)
LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  uses_alexidx := false;
  workers_ran := false;
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    uses_alexidx := uses_alexidx OR line ~ 'Index Scan using pw_inner_ax';
    workers_ran := workers_ran OR line ~ 'Workers Launched: [1-9]';
  END LOOP;
  RETURN NEXT;
END $$;

BEGIN;
-- 10,000 new rows, fewer than alexidx.insert_buffer: all still buffered in this backend
INSERT INTO pw_inner SELECT g * 10 + 5, -g FROM generate_series(1, 10000) g;

-- a non-partial child of a Parallel Append, which one worker runs
SELECT * FROM pw_plan('SELECT count(*), sum(v) FROM (SELECT v FROM pw_inner WHERE k BETWEEN 1 AND 2000
                       UNION ALL SELECT x FROM pw_outer) s');
SELECT count(*), sum(v) FROM (SELECT v FROM pw_inner WHERE k BETWEEN 1 AND 2000
                              UNION ALL SELECT x FROM pw_outer) s \gset append_
-- the inner side of a parallel nested loop, run in the workers only
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_material = off;
SELECT * FROM pw_plan('SELECT count(*), sum(v) FROM pw_outer JOIN pw_inner ON pw_inner.k = pw_outer.x');
SELECT count(*), sum(v) FROM pw_outer JOIN pw_inner ON pw_inner.k = pw_outer.x \gset loop_

SET LOCAL enable_indexscan = off;
SET LOCAL enable_indexonlyscan = off;
SET LOCAL enable_hashjoin = on;
SELECT count(*), sum(v) FROM (SELECT v FROM pw_inner WHERE k BETWEEN 1 AND 2000
                              UNION ALL SELECT x FROM pw_outer) s \gset append_seq_
SELECT count(*), sum(v) FROM pw_outer JOIN pw_inner ON pw_inner.k = pw_outer.x \gset loop_seq_
SELECT :append_count = :append_seq_count AND :append_sum = :append_seq_sum AS append_sees_own_rows,
       :append_count AS rows;
SELECT :loop_count = :loop_seq_count AND :loop_sum = :loop_seq_sum AS nested_loop_sees_own_rows,
       :loop_count AS rows;
COMMIT;

-- and after the commit, through the index
SET enable_seqscan = off;
SELECT count(*) FROM pw_inner WHERE k BETWEEN 1 AND 2000;
RESET enable_seqscan;
DROP TABLE pw_inner, pw_outer;
DROP FUNCTION pw_plan(text);
