-- Dead hints: an index scan that finds a row dead to every transaction marks its entry, and
-- later scans skip it instead of visiting the heap again (btree's LP_DEAD, kill_prior_tuple),
-- until VACUUM removes the entry. The same table and queries run on alexidx and on btree.
CREATE TABLE dh (k bigint, v int) WITH (autovacuum_enabled = off);
INSERT INTO dh SELECT g, g FROM generate_series(1, 100000) g;
CREATE TABLE dh_bt (k bigint, v int) WITH (autovacuum_enabled = off);
INSERT INTO dh_bt SELECT * FROM dh;
CREATE INDEX dh_ax ON dh USING alexidx (k);
CREATE INDEX dh_bt_idx ON dh_bt (k);
VACUUM ANALYZE dh, dh_bt;
-- the heap buffers a query's scan node touched
CREATE FUNCTION scan_buffers(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Buffers: shared hit=' THEN
      RETURN substring(line from 'hit=([0-9]+)')::int;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
-- Rows count as dead to every transaction only when no other session's snapshot is older
-- than the DELETE (an autovacuum ANALYZE of some other table, say): wait, up to 60 s, until
-- none is, before each index's first scan.
CREATE FUNCTION wait_for_no_older_snapshot() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
                          WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
DELETE FROM dh WHERE k BETWEEN 20001 AND 90000;
DELETE FROM dh_bt WHERE k BETWEEN 20001 AND 90000;
SET enable_seqscan = off; SET enable_bitmapscan = off;
-- the first scan visits every deleted row, the second only the live ones
SELECT wait_for_no_older_snapshot();
SELECT scan_buffers('SELECT sum(v) FROM dh WHERE k BETWEEN 10001 AND 100000') AS first \gset ax_
SELECT scan_buffers('SELECT sum(v) FROM dh WHERE k BETWEEN 10001 AND 100000') AS second \gset ax_
SELECT wait_for_no_older_snapshot();
SELECT scan_buffers('SELECT sum(v) FROM dh_bt WHERE k BETWEEN 10001 AND 100000') AS first \gset bt_
SELECT scan_buffers('SELECT sum(v) FROM dh_bt WHERE k BETWEEN 10001 AND 100000') AS second \gset bt_
-- (btree's counts include its index pages; alexidx reads its tree from shared memory)
SELECT :ax_second * 3 < :ax_first AS second_scan_skips_dead,
       :ax_second <= :bt_second AS no_more_buffers_than_btree,
       :bt_second < :bt_first AS btree_skips_too;
-- and backwards, and in an index-only scan (the heap pages are not all-visible)
SELECT scan_buffers('SELECT k FROM dh WHERE k BETWEEN 1 AND 95000 ORDER BY k DESC') * 3
       < :ax_first AS backward_skips_dead;
SELECT scan_buffers('SELECT count(*) FROM dh WHERE k BETWEEN 1 AND 95000') * 3
       < :ax_first AS index_only_skips_dead;
-- the answers are btree's
SELECT (SELECT sum(v) FROM dh WHERE k BETWEEN 10001 AND 100000) =
       (SELECT sum(v) FROM dh_bt WHERE k BETWEEN 10001 AND 100000) AS same_sum,
       (SELECT array_agg(k ORDER BY k DESC) FROM (SELECT k FROM dh WHERE k > 19990 ORDER BY k DESC) s) =
       (SELECT array_agg(k ORDER BY k DESC) FROM dh_bt WHERE k > 19990) AS same_keys_backward;
-- VACUUM removes the marked entries and frees their TIDs; new rows that take the TIDs with
-- the keys the dead rows had must be found (a mark must not pass to them)
VACUUM dh; VACUUM dh_bt;
INSERT INTO dh SELECT g, -g FROM generate_series(20001, 90000) g;
INSERT INTO dh_bt SELECT g, -g FROM generate_series(20001, 90000) g;
SELECT count(*) AS rows_found, sum(v) FROM dh WHERE k BETWEEN 10001 AND 100000;
SELECT count(*) AS rows_found, sum(v) FROM dh_bt WHERE k BETWEEN 10001 AND 100000;
SELECT count(*) AS index_only_count FROM dh WHERE k BETWEEN 20001 AND 90000;
RESET enable_seqscan; RESET enable_bitmapscan;
SELECT count(*) AS seq_scan_count FROM dh WHERE k BETWEEN 20001 AND 90000;
SELECT alexidx_check('dh_ax');
