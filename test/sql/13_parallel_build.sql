-- CREATE INDEX with parallel workers (build_scan.c): each participant scans part of the heap and
-- sorts its run; the leader merges the runs. Every index is checked against a seq scan of an
-- identical table (ax_check, from 01_build_scan) and against alexidx_check. That workers were
-- launched is checked by test/t/036_parallel_build.pl, which can read the server log.
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '256MB';

-- duplicates, NULLs, deleted rows and HOT-updated rows, spread over every page
CREATE TABLE pb (k bigint, v int) WITH (parallel_workers = 2);
INSERT INTO pb SELECT CASE WHEN g % 997 = 0 THEN NULL ELSE (g::bigint * 7919) % 50021 - 25000 END, g
  FROM generate_series(1, 300000) g;
DELETE FROM pb WHERE v % 11 = 0;
UPDATE pb SET v = -v WHERE v % 13 = 0;
CREATE TABLE ref_pb AS SELECT * FROM pb;
CREATE INDEX pb_ax ON pb USING alexidx (k);
SELECT entries = (SELECT count(*) FROM pb) AS all_rows_indexed FROM alexidx_stats('pb_ax');
SELECT * FROM ax_check('pb', 'k = 777');
SELECT * FROM ax_check('pb', 'k BETWEEN -1000 AND 20000');
SELECT * FROM ax_check('pb', 'k < -24990 OR k > 24990');
SELECT * FROM ax_check('pb', 'k IS NULL');
SELECT alexidx_check('pb_ax');

-- the leader only merges: the workers scan every block
SET parallel_leader_participation = off;
REINDEX INDEX pb_ax;
RESET parallel_leader_participation;
SELECT entries = (SELECT count(*) FROM pb) AS all_rows_indexed FROM alexidx_stats('pb_ax');
SELECT * FROM ax_check('pb', 'k BETWEEN -1000 AND 20000');
SELECT * FROM ax_check('pb', 'k IS NULL');
SELECT alexidx_check('pb_ax');

-- CREATE INDEX CONCURRENTLY: the participants scan with an MVCC snapshot
DROP INDEX pb_ax;
CREATE INDEX CONCURRENTLY pb_ax ON pb USING alexidx (k);
SELECT * FROM ax_check('pb', 'k BETWEEN -25000 AND 25000');
SELECT * FROM ax_check('pb', 'k IS NULL');
SELECT alexidx_check('pb_ax');
-- and inserts after it land in the merged tree
INSERT INTO pb SELECT g, g FROM generate_series(-26000, -25001) g;
INSERT INTO ref_pb SELECT g, g FROM generate_series(-26000, -25001) g;
SELECT * FROM ax_check('pb', 'k < -24000');

-- wide keys (uuid: 24-byte entries)
CREATE TABLE pu (k uuid, v int) WITH (parallel_workers = 2);
INSERT INTO pu SELECT md5((g % 90000)::text)::uuid, g FROM generate_series(1, 200000) g;
INSERT INTO pu VALUES (NULL, 0);
CREATE TABLE ref_pu AS SELECT * FROM pu;
CREATE INDEX pu_ax ON pu USING alexidx (k);
SELECT * FROM ax_check('pu', 'k = md5(''4242'')::uuid');
SELECT * FROM ax_check('pu', 'k < ''10000000-0000-0000-0000-000000000000''');
SELECT * FROM ax_check('pu', 'k IS NULL');
SELECT alexidx_check('pu_ax');

-- an expression index: the workers compute the expression
CREATE INDEX pe_ax ON pb USING alexidx ((k * 2 + 1));
SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT count(*), sum(v) FROM pb WHERE k * 2 + 1 BETWEEN -5001 AND 5001;
SELECT (SELECT (count(*), sum(v)) FROM pb WHERE k * 2 + 1 BETWEEN -5001 AND 5001) =
       (SELECT (count(*), sum(v)) FROM ref_pb WHERE k * 2 + 1 BETWEEN -5001 AND 5001) AS same_as_ref;
RESET enable_seqscan; RESET enable_bitmapscan;

-- inside subtransactions: the workers see the rows and deletions of the open ones
BEGIN;
SAVEPOINT a;
CREATE TABLE ps (k bigint, v int) WITH (parallel_workers = 2);
INSERT INTO ps SELECT g % 20011, g FROM generate_series(1, 200000) g;
SAVEPOINT b;
DELETE FROM ps WHERE v % 3 = 0;
CREATE INDEX ps_ax ON ps USING alexidx (k);
CREATE TABLE ref_ps AS SELECT * FROM ps;
SELECT * FROM ax_check('ps', 'k BETWEEN 100 AND 3000');
ROLLBACK TO b;
CREATE INDEX ps_ax ON ps USING alexidx (k);
CREATE TABLE ref_ps AS SELECT * FROM ps;
SELECT * FROM ax_check('ps', 'k BETWEEN 100 AND 3000');
COMMIT;
SELECT * FROM ax_check('ps', 'k < 50 OR k > 20000');
SELECT alexidx_check('ps_ax');

DROP TABLE pb, ref_pb, pu, ref_pu, ps, ref_ps;
RESET max_parallel_maintenance_workers;
RESET maintenance_work_mem;

-- alexidx scans also run inside parallel query workers: the inner side of a parallel nested
-- loop (each worker scans the index for its share of the outer rows). The answer equals a
-- hash join's, which reads no index.
CREATE TABLE pq_outer (id int, k bigint) WITH (parallel_workers = 2);
INSERT INTO pq_outer SELECT g, (g::bigint * 7919) % 60000 FROM generate_series(1, 100000) g;
CREATE TABLE pq_inner (k bigint, v int);
INSERT INTO pq_inner SELECT g % 50000, g FROM generate_series(1, 100000) g;
CREATE INDEX pq_inner_ax ON pq_inner USING alexidx (k);
ANALYZE pq_outer, pq_inner;
BEGIN;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_material = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(i.v) FROM pq_outer o JOIN pq_inner i ON i.k = o.k;
SELECT count(*), sum(i.v) FROM pq_outer o JOIN pq_inner i ON i.k = o.k \gset par_
COMMIT;
BEGIN;
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_indexonlyscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT :par_count = count(*) AND :par_sum = sum(i.v) AS parallel_join_same_as_hash_join,
       count(*) > 0 AS joined_rows
  FROM pq_outer o JOIN pq_inner i ON i.k = o.k;
COMMIT;
DROP TABLE pq_outer, pq_inner;
