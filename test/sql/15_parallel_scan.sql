-- Parallel index scans (scan_parallel.c): the participants of a Parallel Index Scan or Parallel
-- Index Only Scan take chunks of entries from one shared position. Every row must come out
-- exactly once, whichever participant returns it, and each participant's rows in key order (a
-- Gather Merge relies on it). Each query is checked against a seq scan of an identical table,
-- and its plan for the parallel scan on the alexidx index and for workers that really ran.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- a dearer tuple makes the planner split even small scans, and keep a Gather Merge's
-- comparisons worth it
SET cpu_tuple_cost = 0.1;

-- duplicates, NULLs, deleted rows (vacuumed) and HOT-updated rows over every page
CREATE TABLE ps (k bigint, v int) WITH (parallel_workers = 2);
INSERT INTO ps SELECT CASE WHEN g % 991 = 0 THEN NULL ELSE (g::bigint * 7919) % 100003 - 50000 END, g
  FROM generate_series(1, 300000) g;
CREATE INDEX ps_ax ON ps USING alexidx (k);
DELETE FROM ps WHERE v % 17 = 0;
UPDATE ps SET v = -v WHERE v % 19 = 0;
VACUUM ANALYZE ps;
CREATE TABLE ref_ps AS SELECT * FROM ps;

-- One query three ways: the rows of a parallel index scan and of a parallel index-only scan of
-- tbl, and those of a seq scan of ref_tbl. The plans must show the parallel scan on the index
-- and `workers` workers launched.
CREATE FUNCTION par_check(tbl text, cond text, workers int DEFAULT 2)
RETURNS TABLE (scan text, parallel_on_alexidx boolean, workers_ran boolean, nrows bigint,
               same_as_ref boolean)
LANGUAGE plpgsql AS $$
DECLARE
  q_rows text := 'SELECT count(*), md5(coalesce(string_agg(r::text, '';'' ORDER BY r::text), '''')) FROM %s r WHERE %s';
  q_keys text := 'SELECT count(*), md5(coalesce(string_agg(k::text, '','' ORDER BY k), '''')) FROM %s r WHERE %s';
  q text;
  ref text;
  got text;
  plan text;
  line text;
  kind text;
BEGIN
  FOREACH kind IN ARRAY ARRAY['index', 'index only'] LOOP
    q := CASE kind WHEN 'index' THEN q_rows ELSE q_keys END;
    PERFORM set_config('enable_seqscan', 'on', true);
    PERFORM set_config('enable_indexscan', 'off', true);
    PERFORM set_config('enable_indexonlyscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    EXECUTE format(q, 'ref_' || tbl, cond) INTO nrows, ref;
    -- (enable_indexscan = off would disable index-only scans too)
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', 'on', true);
    PERFORM set_config('enable_indexonlyscan', (kind = 'index only')::text, true);
    PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
    plan := '';
    FOR line IN EXECUTE format('EXPLAIN (analyze, costs off, timing off, summary off) ' || q, tbl, cond) LOOP
      plan := plan || line || E'\n';
    END LOOP;
    scan := kind;
    parallel_on_alexidx := plan ~ (CASE kind WHEN 'index' THEN 'Parallel Index Scan using \S+_ax'
                                   ELSE 'Parallel Index Only Scan using \S+_ax' END);
    workers_ran := plan ~ ('Workers Launched: ' || workers);
    EXECUTE format(q, tbl, cond) INTO nrows, got;
    same_as_ref := got = ref;
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_indexonlyscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'on', true);
  PERFORM set_config('max_parallel_workers_per_gather', '2', true);
END $$;

SELECT * FROM par_check('ps', 'k BETWEEN -20000 AND 45000');
SELECT * FROM par_check('ps', 'k IS NOT NULL');
SELECT * FROM par_check('ps', 'k IS NULL');
SELECT * FROM par_check('ps', 'k >= 49990');
SELECT * FROM par_check('ps', 'k > 60000');
-- many segments: an IN list, and ranges with holes
SELECT * FROM par_check('ps', 'k IN (-49999, -7, 0, 12, 13, 4000, 4001, 49999, 77777)');
SELECT * FROM par_check('ps', 'k = ANY (ARRAY(SELECT g * 37 FROM generate_series(-1000, 1000) g))');
-- the workers alone take every chunk
SET parallel_leader_participation = off;
SELECT * FROM par_check('ps', 'k BETWEEN -50000 AND 50000');
SELECT * FROM par_check('ps', 'k = ANY (ARRAY(SELECT g * 37 FROM generate_series(-1000, 1000) g))');
RESET parallel_leader_participation;

-- uuid keys: an index-only scan's workers form tuples of a by-reference key
CREATE TABLE pid (k uuid, v int) WITH (parallel_workers = 2);
INSERT INTO pid SELECT md5((g % 50000)::text)::uuid, g FROM generate_series(1, 100000) g;
INSERT INTO pid VALUES (NULL, 0);
CREATE INDEX pid_ax ON pid USING alexidx (k);
VACUUM ANALYZE pid;
CREATE TABLE ref_pid AS SELECT * FROM pid;
SELECT * FROM par_check('pid', 'k < ''80000000-0000-0000-0000-000000000000''');
SELECT * FROM par_check('pid', 'k IN (md5(''4242'')::uuid, md5(''7'')::uuid, md5(''x'')::uuid)');

-- Gather Merge: each participant's rows must come in key order, forwards and backwards. The
-- keys (unique here) are compared in the order the query returns them.
CREATE TABLE pu (k bigint, v int) WITH (parallel_workers = 2);
INSERT INTO pu SELECT (g::bigint * 7919) % 200003, g FROM generate_series(1, 200000) g;
CREATE INDEX pu_ax ON pu USING alexidx (k);
VACUUM ANALYZE pu;
CREATE TABLE ref_pu AS SELECT * FROM pu;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT k, v FROM pu WHERE k > 1000 ORDER BY k;
EXPLAIN (costs off) SELECT k, v FROM pu WHERE k > 1000 ORDER BY k DESC;
EXPLAIN (costs off) SELECT k, v FROM pu WHERE k < 150000 ORDER BY k DESC LIMIT 5000;
CREATE TEMP TABLE got_order AS
  SELECT (SELECT md5(string_agg(k || ':' || v, ',')) FROM (SELECT k, v FROM pu WHERE k > 1000 ORDER BY k) s) AS fwd,
         (SELECT md5(string_agg(k || ':' || v, ',')) FROM (SELECT k, v FROM pu WHERE k > 1000 ORDER BY k DESC) s) AS bwd,
         (SELECT md5(string_agg(k || ':' || v, ',')) FROM (SELECT k, v FROM pu WHERE k < 150000 ORDER BY k DESC LIMIT 5000) s) AS bwd_limit;
RESET enable_seqscan;
RESET enable_bitmapscan;
SET max_parallel_workers_per_gather = 0;
SELECT fwd = (SELECT md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM ref_pu WHERE k > 1000) AS forward_in_order,
       bwd = (SELECT md5(string_agg(k || ':' || v, ',' ORDER BY k DESC)) FROM ref_pu WHERE k > 1000) AS backward_in_order,
       bwd_limit = (SELECT md5(string_agg(k || ':' || v, ',')) FROM (SELECT k, v FROM ref_pu WHERE k < 150000 ORDER BY k DESC LIMIT 5000) s) AS backward_limit
  FROM got_order;
RESET max_parallel_workers_per_gather;

-- Rescans (amparallelrescan): the nested loop runs the parallel scan again for each outer row,
-- and each run must start from the beginning.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_material = off;
EXPLAIN (costs off)
SELECT * FROM (SELECT count(v) FROM ps WHERE k > 10) s RIGHT JOIN (VALUES (1), (2), (3)) o(x) ON true;
CREATE TEMP TABLE got_rescan AS
SELECT * FROM (SELECT count(v) AS n FROM ps WHERE k > 10) s RIGHT JOIN (VALUES (1), (2), (3)) o(x) ON true;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_material;
SELECT g.x, g.n = (SELECT count(v) FROM ref_ps WHERE k > 10) AS same_as_ref FROM got_rescan g ORDER BY g.x;

-- This transaction's own inserts, still in the leader's insert buffer, are seen by the
-- workers, which read only the shared tree. The key is a parameter of a generic plan (a
-- runtime key), and the leader does not scan, so it never rescans: it must have flushed its
-- buffer when it began the scan, before it launched the workers.
BEGIN;
INSERT INTO ps SELECT 70000 + g, g FROM generate_series(1, 5000) g;
INSERT INTO ref_ps SELECT 70000 + g, g FROM generate_series(1, 5000) g;
SELECT buffered FROM alexidx_stats('ps_ax');
SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL parallel_leader_participation = off;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
PREPARE own(bigint) AS SELECT count(*) AS n, coalesce(sum(v), 0) AS s FROM ps WHERE k >= $1;
EXPLAIN (costs off) EXECUTE own(60000);
EXECUTE own(60000) \gset
SELECT buffered FROM alexidx_stats('ps_ax');
SELECT :n = count(*) AND :s = sum(v) AS own_rows_seen FROM ref_ps WHERE k >= 60000;
COMMIT;
