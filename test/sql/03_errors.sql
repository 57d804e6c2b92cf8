-- Unsupported definitions fail with messages that say what to use.
CREATE TABLE bad (t text, n numeric, a bigint, b bigint);
CREATE INDEX ON bad USING alexidx (t);
CREATE INDEX ON bad USING alexidx (n);
CREATE INDEX ON bad USING alexidx (a, b);
CREATE UNIQUE INDEX ON bad USING alexidx (a);
CREATE INDEX ON bad USING alexidx (a) WITH (no_such_option = 1);
CREATE INDEX ON bad USING alexidx (a) WITH (max_node_slots = -5);
SELECT alexidx_stats('bad');
SELECT alexidx_tree_events('bad');
DROP TABLE bad;

-- A partitioned index holds no entries: the functions name what to check instead. An index
-- dropped after its OID was taken is reported as missing.
CREATE TABLE part (k bigint) PARTITION BY RANGE (k);
CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (100);
CREATE INDEX part_ax ON part USING alexidx (k);
SELECT alexidx_check('part_ax');
SELECT alexidx_stats('part_ax');
SELECT 'part_1_k_idx'::regclass::oid AS dropped_oid \gset
DROP TABLE part;
\set VERBOSITY sqlstate
SELECT alexidx_check(:dropped_oid);
\set VERBOSITY default

-- An invalid index (a CREATE INDEX CONCURRENTLY that failed) lacks rows by design:
-- alexidx_check says it cannot check it, rather than that it is corrupt.
CREATE TABLE inv (k bigint);
INSERT INTO inv SELECT g FROM generate_series(1, 100) g;
CREATE INDEX CONCURRENTLY inv_ax ON inv USING alexidx ((1 / (k - 50)));
SELECT indisvalid FROM pg_index WHERE indexrelid = 'inv_ax'::regclass;
SELECT alexidx_check('inv_ax');
DELETE FROM inv WHERE k = 50;
REINDEX INDEX inv_ax;
SELECT alexidx_check('inv_ax');
DROP TABLE inv;
