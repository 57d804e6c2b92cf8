-- Build, insert and scan: every query runs on alexidx and is checked against a seq scan of an
-- identical table without indexes (ref), under forced Index Scan and forced Bitmap Index Scan.
CREATE EXTENSION alexidx;
SELECT alexidx_version();

-- ax_check(cond): for each scan kind, did the plan use the alexidx index, and do the rows
-- (as a sorted multiset) equal the reference table's?
CREATE FUNCTION ax_check(tbl text, cond text)
RETURNS TABLE (scan text, uses_alexidx boolean, nrows bigint, same_as_ref boolean)
LANGUAGE plpgsql AS $$
DECLARE
  plan text;
  ref_hash text;
  got_hash text;
  kind text;
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  PERFORM set_config('enable_seqscan', 'on', true);
  EXECUTE format('SELECT md5(coalesce(string_agg(r::text, %L ORDER BY r::text), %L)) FROM ref_%s r WHERE %s',
                 ';', '', tbl, cond) INTO ref_hash;
  FOREACH kind IN ARRAY ARRAY['index', 'bitmap'] LOOP
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', (kind = 'index')::text, true);
    PERFORM set_config('enable_bitmapscan', (kind = 'bitmap')::text, true);
    plan := '';
    FOR got_hash IN EXECUTE format('EXPLAIN (costs off) SELECT * FROM %s r WHERE %s', tbl, cond) LOOP
      plan := plan || got_hash || E'\n';
    END LOOP;
    scan := kind;
    uses_alexidx := plan ~ (CASE kind WHEN 'index' THEN 'Index (Only )?Scan using \S+_ax' ELSE 'Bitmap Index Scan on \S+_ax' END);
    EXECUTE format('SELECT count(*), md5(coalesce(string_agg(r::text, %L ORDER BY r::text), %L)) FROM %s r WHERE %s',
                   ';', '', tbl, cond) INTO nrows, got_hash;
    same_as_ref := got_hash = ref_hash;
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'on', true);
END $$;

-- An index built on an empty table, then filled.
CREATE TABLE e (k bigint, v int);
CREATE TABLE ref_e (k bigint, v int);
CREATE INDEX e_ax ON e USING alexidx (k);
INSERT INTO e SELECT (g * 7919) % 10007, g FROM generate_series(1, 20000) g;
INSERT INTO ref_e SELECT * FROM e;
SELECT * FROM ax_check('e', 'k = 42');
SELECT * FROM ax_check('e', 'k BETWEEN 100 AND 2000');
SELECT * FROM ax_check('e', 'k < 0');

-- An index built on a filled table, with duplicates (each key about 5 times).
CREATE TABLE t (k bigint, v int);
INSERT INTO t SELECT (g::bigint * 104729) % 40009 - 20000, g FROM generate_series(1, 200000) g;
CREATE TABLE ref_t AS SELECT * FROM t;
CREATE INDEX t_ax ON t USING alexidx (k);
SELECT entries FROM alexidx_stats('t_ax');
SELECT * FROM ax_check('t', 'k = 777');
SELECT * FROM ax_check('t', 'k < -19990');
SELECT * FROM ax_check('t', 'k <= -19990');
SELECT * FROM ax_check('t', 'k > 19990');
SELECT * FROM ax_check('t', 'k >= 19990');
SELECT * FROM ax_check('t', 'k BETWEEN -50 AND 50');
SELECT * FROM ax_check('t', 'k > 10 AND k < 5');        -- contradictory: empty
SELECT * FROM ax_check('t', 'k >= 5 AND k <= 5 AND k = 5');
SELECT * FROM ax_check('t', 'k = 123456789');           -- absent key

-- Inserts after the build: visible to the inserting transaction before commit, and after.
BEGIN;
INSERT INTO t SELECT 30000 + g % 7, g FROM generate_series(1, 5000) g;
INSERT INTO ref_t SELECT 30000 + g % 7, g FROM generate_series(1, 5000) g;
SELECT * FROM ax_check('t', 'k >= 30000');
COMMIT;
SELECT * FROM ax_check('t', 'k >= 30000');
SELECT * FROM ax_check('t', 'k BETWEEN 29990 AND 30003');

-- A rolled-back insert leaves nothing visible.
BEGIN;
INSERT INTO t VALUES (55555, 1);
ROLLBACK;
SELECT * FROM ax_check('t', 'k = 55555');

-- Updates and deletes.
UPDATE t SET k = k + 100000 WHERE k BETWEEN 0 AND 100;
UPDATE ref_t SET k = k + 100000 WHERE k BETWEEN 0 AND 100;
DELETE FROM t WHERE k BETWEEN -300 AND -200;
DELETE FROM ref_t WHERE k BETWEEN -300 AND -200;
SELECT * FROM ax_check('t', 'k BETWEEN -400 AND 200');
SELECT * FROM ax_check('t', 'k >= 100000');

-- The plans a user sees.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT * FROM t WHERE k = 5;
EXPLAIN (costs off) SELECT * FROM t WHERE k BETWEEN 1 AND 10;
RESET enable_bitmapscan;
SET enable_indexscan = off;
EXPLAIN (costs off) SELECT * FROM t WHERE k BETWEEN 1 AND 10;
RESET enable_indexscan;
RESET enable_seqscan;

SELECT alexidx_check('t_ax');
SELECT alexidx_check('e_ax');

-- alexidx_tree_events: what the trees did since they were loaded. A build lays the tree out
-- in one go (no events); 200,000 appended keys make it grow.
CREATE TABLE ev (k bigint);
CREATE INDEX ev_ax ON ev USING alexidx (k);
SELECT expansions + sideways_splits + downward_splits + model_doublings + model_widenings
       + parents_added AS events_after_build FROM alexidx_tree_events('ev_ax');
INSERT INTO ev SELECT g FROM generate_series(1, 200000) g;
SELECT expansions + sideways_splits + downward_splits + model_doublings + model_widenings
       + parents_added > 0 AS grew, failed_shrinks FROM alexidx_tree_events('ev_ax');
DROP TABLE ev;
