-- ALTER TABLE ... ALTER COLUMN ... TYPE that keeps the index's storage (PostgreSQL reuses the
-- relfilenode and never calls ambuild), and keys whose column type is a domain or a type
-- that is binary-coercible to the opclass's (issue 10, item 4). Each step is checked against
-- a seq scan of a reference copy, after a pause long enough for the sidecar worker to act on
-- drop notices and to sweep (alexidx.sweep_interval = 1 in the suite).
CREATE TABLE at (k bigint, ts timestamptz(3), o oid);
INSERT INTO at SELECT g, '2026-01-01'::timestamptz + g * interval '1 minute', g FROM generate_series(1, 3000) g;
CREATE TABLE ref_at AS SELECT * FROM at;
CREATE INDEX at_k_ax ON at USING alexidx (k);
CREATE INDEX at_ts_ax ON at USING alexidx (ts);
CREATE INDEX at_o_ax ON at USING alexidx (o);
SELECT relfilenode AS k_node FROM pg_class WHERE relname = 'at_k_ax' \gset

-- bigint to bigint: the index keeps its storage
ALTER TABLE at ALTER COLUMN k TYPE bigint;
SELECT relfilenode = :k_node AS k_storage_kept FROM pg_class WHERE relname = 'at_k_ax';
SELECT pg_sleep(2.5);
SELECT * FROM ax_check('at', 'k BETWEEN 100 AND 200');
SELECT alexidx_check('at_k_ax');

-- rows inserted in the transaction that alters the type stay in the index
BEGIN;
INSERT INTO at SELECT g, '2026-06-01'::timestamptz + g * interval '1 minute', g FROM generate_series(3001, 3100) g;
ALTER TABLE at ALTER COLUMN k TYPE bigint;
COMMIT;
INSERT INTO ref_at SELECT g, '2026-06-01'::timestamptz + g * interval '1 minute', g FROM generate_series(3001, 3100) g;
SELECT pg_sleep(2.5);
SELECT * FROM ax_check('at', 'k > 2950');
SELECT alexidx_check('at_k_ax');

-- timestamptz(3) to timestamptz(6)
ALTER TABLE at ALTER COLUMN ts TYPE timestamptz(6);
SELECT pg_sleep(2.5);
SELECT * FROM ax_check('at', $$ts < '2026-01-01 01:00+00'$$);
SELECT alexidx_check('at_ts_ax');

-- to a domain over bigint
CREATE DOMAIN pos8 AS bigint CHECK (VALUE > 0);
ALTER TABLE at ALTER COLUMN k TYPE pos8;
SELECT pg_sleep(2.5);
INSERT INTO at VALUES (5000, '2027-01-01', 5000);
INSERT INTO ref_at VALUES (5000, '2027-01-01', 5000);
SELECT * FROM ax_check('at', 'k >= 2990');
SELECT alexidx_check('at_k_ax');

-- oid to regclass
ALTER TABLE at ALTER COLUMN o TYPE regclass;
SELECT pg_sleep(2.5);
INSERT INTO at VALUES (5001, '2027-01-02', 5001);
INSERT INTO ref_at VALUES (5001, '2027-01-02', 5001);
SELECT * FROM ax_check('at', 'o::oid BETWEEN 10 AND 20');
SELECT alexidx_check('at_o_ax');

-- a new index on a domain column, read back by an index-only scan
CREATE TABLE dom (k pos8);
INSERT INTO dom SELECT g FROM generate_series(1, 2000) g;
CREATE TABLE ref_dom AS SELECT * FROM dom;
CREATE INDEX dom_ax ON dom USING alexidx (k);
INSERT INTO dom VALUES (2001), (2002);
INSERT INTO ref_dom VALUES (2001), (2002);
SELECT * FROM ax_check('dom', 'k > 1990');
VACUUM dom;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT k FROM dom WHERE k > 1998 ORDER BY k;
SELECT k FROM dom WHERE k > 1998 ORDER BY k;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT alexidx_check('dom_ax');
DROP TABLE at, ref_at, dom, ref_dom;
DROP DOMAIN pos8;
