-- pg_stat_user_indexes counts alexidx scans as it counts btree's: DBAs look for indexes with
-- idx_scan = 0 to drop as unused. The same queries run against two copies of one table, one
-- indexed by alexidx and one by btree, and the counts must move alike. The queries are
-- prepared and run once before counting: planning them may probe a btree index for the
-- column's actual minimum or maximum (get_actual_variable_range, btree only), which btree
-- counts as scans too. Each is planned (run) right after it is prepared, under the settings
-- that force its scan, and the counted runs reuse the plans.
CREATE TABLE sa (k bigint, v int);
INSERT INTO sa SELECT g, g FROM generate_series(1, 20000) g;
CREATE TABLE sb AS SELECT * FROM sa;
CREATE INDEX sa_ax ON sa USING alexidx (k);
CREATE INDEX sb_bt ON sb (k);
VACUUM ANALYZE sa, sb;
CREATE TABLE outer_keys AS SELECT g AS k FROM generate_series(100, 104) g;
ANALYZE outer_keys;
-- the counts of both indexes as one row
CREATE FUNCTION stat_counts(OUT ax_scans bigint, OUT bt_scans bigint, OUT ax_read bigint, OUT bt_read bigint)
LANGUAGE sql AS $$
  SELECT a.idx_scan, b.idx_scan, a.idx_tup_read, b.idx_tup_read
  FROM pg_stat_user_indexes a, pg_stat_user_indexes b
  WHERE a.indexrelname = 'sa_ax' AND b.indexrelname = 'sb_bt'
$$;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
-- an index scan, an index-only scan, an empty one, a backward one with a LIMIT
PREPARE a1 AS SELECT sum(v) FROM sa WHERE k BETWEEN 10 AND 20;
EXECUTE a1;
PREPARE b1 AS SELECT sum(v) FROM sb WHERE k BETWEEN 10 AND 20;
EXECUTE b1;
PREPARE a2 AS SELECT count(*) FROM sa WHERE k < 500;
EXECUTE a2;
PREPARE b2 AS SELECT count(*) FROM sb WHERE k < 500;
EXECUTE b2;
PREPARE a3 AS SELECT count(*) FROM sa WHERE k > 1000000;
EXECUTE a3;
PREPARE b3 AS SELECT count(*) FROM sb WHERE k > 1000000;
EXECUTE b3;
PREPARE a4 AS SELECT k FROM sa WHERE k < 30 ORDER BY k DESC LIMIT 3;
EXECUTE a4;
PREPARE b4 AS SELECT k FROM sb WHERE k < 30 ORDER BY k DESC LIMIT 3;
EXECUTE b4;
-- a nested loop: one scan of the inner index per outer row
SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM outer_keys o JOIN sa ON sa.k = o.k;
PREPARE a5 AS SELECT count(*) FROM outer_keys o JOIN sa ON sa.k = o.k;
EXECUTE a5;
PREPARE b5 AS SELECT count(*) FROM outer_keys o JOIN sb ON sb.k = o.k;
EXECUTE b5;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_material;
-- bitmap scans
SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = on;
PREPARE a6 AS SELECT count(*) FROM sa WHERE k BETWEEN 1000 AND 3000;
EXECUTE a6;
PREPARE b6 AS SELECT count(*) FROM sb WHERE k BETWEEN 1000 AND 3000;
EXECUTE b6;
RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan; RESET enable_seqscan;
-- an IN list
SET enable_seqscan = off; SET enable_bitmapscan = off;
PREPARE a7 AS SELECT count(*) FROM sa WHERE k IN (5, 50, 500);
EXECUTE a7;
RESET enable_seqscan; RESET enable_bitmapscan;

SELECT pg_stat_force_next_flush();
-- (kept in psql variables: DDL here, such as a first temporary table, would drop the plans)
SELECT ax_scans AS ax0, bt_scans AS bt0, ax_read AS axr0, bt_read AS btr0 FROM stat_counts() \gset
SELECT :ax0 > 0 AS ax_counted, :axr0 > 0 AS ax_read_counted;

EXECUTE a1; EXECUTE b1; EXECUTE a2; EXECUTE b2; EXECUTE a3; EXECUTE b3;
EXECUTE a4; EXECUTE b4; EXECUTE a5; EXECUTE b5; EXECUTE a6; EXECUTE b6;
SELECT pg_stat_force_next_flush();
SELECT ax_scans - :ax0 AS ax_scans, bt_scans - :bt0 AS bt_scans,
       ax_read - :axr0 AS ax_read, bt_read - :btr0 AS bt_read
  FROM stat_counts();

-- An IN list is one scan of alexidx (btree counts one per value it looks up).
EXECUTE a7;
SELECT pg_stat_force_next_flush();
SELECT ax_scans - :ax0 AS ax_scans_after_in_list FROM stat_counts();
