-- The DDL lifecycle: each statement works, and the sidecar space of dead builds is reclaimed.
-- wait_for_builds(n): waits (at most 30 s) until the sidecar holds n builds; returns n if so.
CREATE FUNCTION wait_for_builds(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE c bigint;
BEGIN
  FOR i IN 1 .. 300 LOOP
    SELECT count(*) INTO c FROM alexidx_sidecar_builds();
    EXIT WHEN c = n;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN c;
END $$;
-- what earlier tests left behind
SELECT count(*) AS builds_before FROM alexidx_sidecar_builds() \gset

CREATE TABLE life (k bigint, v int);
INSERT INTO life SELECT g % 5000, g FROM generate_series(1, 20000) g;
CREATE TABLE ref_life AS SELECT * FROM life;
CREATE INDEX life_ax ON life USING alexidx (k);
SELECT wait_for_builds(:builds_before + 1) - :builds_before AS new_builds;

-- TRUNCATE gives the index a new, empty build; the old one is swept.
TRUNCATE life;
SELECT entries FROM alexidx_stats('life_ax');
INSERT INTO life SELECT * FROM ref_life;
SELECT * FROM ax_check('life', 'k BETWEEN 10 AND 20');
SELECT wait_for_builds(:builds_before + 1) - :builds_before AS builds_after_truncate;

-- REINDEX, REINDEX CONCURRENTLY, rename.
REINDEX INDEX life_ax;
SELECT * FROM ax_check('life', 'k BETWEEN 10 AND 20');
REINDEX INDEX CONCURRENTLY life_ax;
SELECT * FROM ax_check('life', 'k BETWEEN 10 AND 20');
ALTER INDEX life_ax RENAME TO life2_ax;
SELECT * FROM ax_check('life', 'k = 4999');
SELECT wait_for_builds(:builds_before + 1) - :builds_before AS builds_after_reindex;

-- CREATE INDEX CONCURRENTLY, then DROP INDEX CONCURRENTLY.
DROP INDEX life2_ax;
CREATE INDEX CONCURRENTLY life3_ax ON life USING alexidx (k);
SELECT * FROM ax_check('life', 'k < 3');
SELECT entries FROM alexidx_stats('life3_ax');
DROP INDEX CONCURRENTLY life3_ax;
SELECT wait_for_builds(:builds_before) - :builds_before AS builds_after_drop;

-- A rolled-back CREATE INDEX leaves nothing behind.
BEGIN;
CREATE INDEX life_rb_ax ON life USING alexidx (k);
ROLLBACK;
SELECT wait_for_builds(:builds_before) - :builds_before AS builds_after_rollback;
BEGIN;
SAVEPOINT s;
CREATE INDEX life_rb2_ax ON life USING alexidx (k);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT wait_for_builds(:builds_before) - :builds_before AS builds_after_savepoint_rollback;

-- Partial indexes.
CREATE INDEX life_part_ax ON life USING alexidx (k) WHERE v % 3 = 0;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT * FROM life WHERE k = 7 AND v % 3 = 0;
SELECT count(*), sum(v) FROM life WHERE k = 7 AND v % 3 = 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(v) FROM ref_life WHERE k = 7 AND v % 3 = 0;
DROP INDEX life_part_ax;

-- Partitioned tables: each partition gets its own alexidx index.
CREATE TABLE pt (k bigint, v int) PARTITION BY RANGE (k);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (1000) TO (MAXVALUE);
CREATE INDEX pt1_ax ON pt1 USING alexidx (k);
CREATE INDEX pt2_ax ON pt2 USING alexidx (k);
CREATE INDEX pt_ax ON pt USING alexidx (k);  -- attaches the partitions' indexes
INSERT INTO pt SELECT g, g FROM generate_series(1, 3000) g;
CREATE TABLE ref_pt AS SELECT * FROM pt;
SELECT * FROM ax_check('pt', 'k BETWEEN 990 AND 1010');
SELECT count(*) FROM pg_indexes WHERE tablename IN ('pt1', 'pt2') AND indexdef LIKE '%alexidx%';

-- Temporary tables.
CREATE TEMP TABLE tmp (k bigint);
INSERT INTO tmp SELECT g FROM generate_series(1, 5000) g;
CREATE TABLE ref_tmp AS SELECT * FROM tmp;
CREATE INDEX tmp_ax ON tmp USING alexidx (k);
INSERT INTO tmp VALUES (100000);
INSERT INTO ref_tmp VALUES (100000);
SELECT * FROM ax_check('tmp', 'k > 4990');

-- Unlogged tables (their reset after a crash is tested by TAP).
CREATE UNLOGGED TABLE unl (k bigint);
INSERT INTO unl SELECT g FROM generate_series(1, 5000) g;
CREATE TABLE ref_unl AS SELECT * FROM unl;
CREATE INDEX unl_ax ON unl USING alexidx (k);
SELECT * FROM ax_check('unl', 'k < 10');
SELECT persistence FROM alexidx_sidecar_builds() b
  JOIN pg_class c ON c.relfilenode = b.relfilenode WHERE c.relname = 'unl_ax';

-- DROP TABLE reclaims the builds of its indexes.
SELECT count(*) AS builds_now FROM alexidx_sidecar_builds() \gset
DROP TABLE unl;
SELECT wait_for_builds(:builds_now - 1) - :builds_now AS builds_after_drop_table;

-- DROP DATABASE: the sweep reclaims the dropped database's builds.
SELECT current_database() AS regress_db \gset
CREATE DATABASE alexidx_other;
\c alexidx_other
CREATE EXTENSION alexidx;
CREATE TABLE x (k int);
INSERT INTO x SELECT g FROM generate_series(1, 1000) g;
CREATE INDEX x_ax ON x USING alexidx (k);
\c :regress_db
SELECT count(*) AS builds_with_other FROM alexidx_sidecar_builds() \gset
DROP DATABASE alexidx_other;
SELECT wait_for_builds(:builds_with_other - 1) - :builds_with_other AS builds_after_drop_database;

-- alexidx_sidecar_builds() lists every build, however many (it once stopped at 204).
SELECT count(*) AS builds_now FROM alexidx_sidecar_builds() \gset
DO $$
BEGIN
  FOR i IN 1 .. 250 LOOP
    EXECUTE format('CREATE TABLE many_%s (k int); CREATE INDEX many_%s_ax ON many_%s USING alexidx (k)', i, i, i);
  END LOOP;
END $$;
SELECT count(*) - :builds_now AS new_builds, count(DISTINCT build_id) - :builds_now AS distinct_new_builds
  FROM alexidx_sidecar_builds();
SELECT count(*) AS listed_indexes FROM pg_class c
  WHERE relname LIKE 'many\_%\_ax' AND relfilenode IN (SELECT relfilenode FROM alexidx_sidecar_builds());
DO $$
BEGIN
  FOR i IN 1 .. 250 LOOP
    EXECUTE format('DROP TABLE many_%s', i);
  END LOOP;
END $$;
SELECT wait_for_builds(:builds_now) - :builds_now AS builds_after_drops;

-- Table rewrites give the index a new build from the rewritten table, and the old build is
-- swept: VACUUM FULL, CLUSTER (on a btree index), ALTER TABLE ... SET UNLOGGED and SET
-- LOGGED, and an ADD COLUMN with a volatile default. Writes go on after each.
CREATE TABLE rw (k bigint, v int);
INSERT INTO rw SELECT (g * 7919) % 10007, g FROM generate_series(1, 20000) g;
CREATE INDEX rw_ax ON rw USING alexidx (k);
CREATE INDEX rw_v ON rw (v);
DELETE FROM rw WHERE v % 3 = 0;
CREATE TABLE ref_rw AS SELECT * FROM rw;
-- rw_write(k, v): one more row, in rw and in its reference table
CREATE FUNCTION rw_write(k bigint, v int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO rw VALUES (k, v); INSERT INTO ref_rw VALUES (k, v) $$;
-- rw_persistence(): the persistence of rw_ax's build, as the sidecar records it
CREATE FUNCTION rw_persistence() RETURNS text LANGUAGE sql AS $$
  SELECT b.persistence::text FROM alexidx_sidecar_builds() b
    JOIN pg_class c ON c.relfilenode = b.relfilenode WHERE c.relname = 'rw_ax' $$;
SELECT count(*) AS builds_now FROM alexidx_sidecar_builds() \gset
VACUUM FULL rw;
SELECT * FROM ax_check('rw', 'k BETWEEN 100 AND 300');
CLUSTER rw USING rw_v;
SELECT * FROM ax_check('rw', 'k BETWEEN 100 AND 300');
ALTER TABLE rw SET UNLOGGED;
SELECT rw_write(150, -1);
SELECT * FROM ax_check('rw', 'k BETWEEN 100 AND 300');
SELECT rw_persistence();
ALTER TABLE rw SET LOGGED;
SELECT rw_write(151, -2);
SELECT * FROM ax_check('rw', 'k BETWEEN 100 AND 300');
SELECT rw_persistence();
ALTER TABLE rw ADD COLUMN r float8 DEFAULT random();
ALTER TABLE rw DROP COLUMN r;
SELECT * FROM ax_check('rw', 'k BETWEEN 100 AND 300');
SELECT alexidx_check('rw_ax');
SELECT entries = (SELECT count(*) FROM ref_rw) AS entries_match FROM alexidx_stats('rw_ax');
SELECT wait_for_builds(:builds_now) - :builds_now AS builds_after_rewrites;
