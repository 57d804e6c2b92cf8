-- Integer widths, cross-type comparisons, and ordered scans in both directions.
CREATE TABLE i2 (k smallint, v int);
INSERT INTO i2 SELECT ((g * 31) % 65535 - 32767)::smallint, g FROM generate_series(1, 30000) g;
CREATE TABLE ref_i2 AS SELECT * FROM i2;
CREATE INDEX i2_ax ON i2 USING alexidx (k);

CREATE TABLE i4 (k int, v int);
INSERT INTO i4 SELECT (g * 2654435761) % 2147483647, g FROM generate_series(1, 30000) g;
INSERT INTO i4 VALUES (2147483647, -1), (-2147483648, -2);
CREATE TABLE ref_i4 AS SELECT * FROM i4;
CREATE INDEX i4_ax ON i4 USING alexidx (k);

CREATE TABLE i8 (k bigint, v int);
INSERT INTO i8 SELECT g * 3037000493, g FROM generate_series(-3000, 3000) g;
INSERT INTO i8 VALUES (9223372036854775807, 1), (-9223372036854775808, 2), (9223372036854775807, 3);
CREATE TABLE ref_i8 AS SELECT * FROM i8;
CREATE INDEX i8_ax ON i8 USING alexidx (k);

SELECT * FROM ax_check('i2', 'k BETWEEN -100 AND 100');
SELECT * FROM ax_check('i2', 'k = 32767 OR k = -32767');  -- an OR is a bitmap-only plan
SELECT * FROM ax_check('i2', 'k < 1000::int8');          -- int2 column, int8 argument
SELECT * FROM ax_check('i4', 'k >= 2147483000');
SELECT * FROM ax_check('i4', 'k = -2147483648');
SELECT * FROM ax_check('i4', 'k > 5000000000::bigint');  -- beyond int4: empty
SELECT * FROM ax_check('i4', 'k < 100::smallint');
SELECT * FROM ax_check('i8', 'k = 9223372036854775807');
SELECT * FROM ax_check('i8', 'k = -9223372036854775808');
SELECT * FROM ax_check('i8', 'k > 9223372036854775806');
SELECT * FROM ax_check('i8', 'k < -9223372036854775807');
SELECT * FROM ax_check('i8', 'k BETWEEN 42::int4 AND 9000000000000');
SELECT * FROM ax_check('i8', 'k > 9223372036854775807');    -- empty

-- A bigint column against an int4 parameter still uses the index.
PREPARE p(int) AS SELECT count(*) FROM i8 WHERE k >= $1;
SET plan_cache_mode = force_generic_plan;
SET enable_seqscan = off;
EXPLAIN (costs off) EXECUTE p(0);
EXECUTE p(0);
SELECT count(*) FROM ref_i8 WHERE k >= 0;
RESET plan_cache_mode;

-- ORDER BY ... LIMIT with no Sort node, both directions.
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT k FROM i8 WHERE k > 0 ORDER BY k LIMIT 5;
EXPLAIN (costs off) SELECT k FROM i8 WHERE k > 0 ORDER BY k DESC LIMIT 5;
SELECT array_agg(k) = (SELECT array_agg(k) FROM (SELECT k FROM ref_i8 WHERE k > 0 ORDER BY k LIMIT 50) s) AS asc_same
  FROM (SELECT k FROM i8 WHERE k > 0 ORDER BY k LIMIT 50) s;
SELECT array_agg(k) = (SELECT array_agg(k) FROM (SELECT k FROM ref_i8 WHERE k > 0 ORDER BY k DESC LIMIT 50) s) AS desc_same
  FROM (SELECT k FROM i8 WHERE k > 0 ORDER BY k DESC LIMIT 50) s;
SELECT array_agg(k) = (SELECT array_agg(k ORDER BY k DESC) FROM ref_i4 WHERE k < 0) AS desc_full_same
  FROM (SELECT k FROM i4 WHERE k < 0 ORDER BY k DESC) s;

-- A cursor that turns around keeps its place, as with btree.
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT k FROM i8 WHERE k BETWEEN 0 AND 30370004930 ORDER BY k;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH LAST FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ABSOLUTE 1 FROM c;
COMMIT;
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT alexidx_check('i2_ax'), alexidx_check('i4_ax'), alexidx_check('i8_ax');
