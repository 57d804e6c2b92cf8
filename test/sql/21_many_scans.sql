-- Index-only scans hold a pin in shared memory while they may return entries VACUUM removed
-- (scan_pins.c). A query can hold many at once: one per partition in an Append or Merge
-- Append of Index Only Scans, and a table partitioned by day has hundreds. And scans that an
-- error ends inside a subtransaction (a PL/pgSQL EXCEPTION block) never reach their end: their
-- pins go with the subtransaction. Each query is compared with a seq scan.
CREATE TABLE ms (k bigint, v int) PARTITION BY RANGE (k);
DO $$
BEGIN
  FOR g IN 0..59 LOOP
    EXECUTE format('CREATE TABLE ms_%s PARTITION OF ms FOR VALUES FROM (%s) TO (%s)', g, g * 100, g * 100 + 100);
  END LOOP;
END $$;
INSERT INTO ms SELECT g, g FROM generate_series(0, 5999) g;
CREATE INDEX ms_ax ON ms USING alexidx (k);
VACUUM ANALYZE ms;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
-- 60 Index Only Scans under one Append, all open at once
CREATE FUNCTION ms_index_only_scans(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  line text;
  n int := 0;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF line ~ 'Index Only Scan using ms_\d+_k_idx' THEN
      n := n + 1;
    END IF;
  END LOOP;
  RETURN n;
END $$;
SELECT ms_index_only_scans('SELECT count(k) FROM ms WHERE k >= 0');
SELECT count(k), sum(k) FROM ms WHERE k >= 0;
-- and under a Merge Append, which keeps each child open until the end
SELECT k FROM ms WHERE k >= 10 ORDER BY k LIMIT 5;
SELECT k FROM ms WHERE k < 5990 ORDER BY k DESC LIMIT 5;
-- a hash-partitioned table: a Merge Append, which keeps its 40 children open to the end
CREATE TABLE mh (k bigint) PARTITION BY HASH (k);
DO $$
BEGIN
  FOR g IN 0..39 LOOP
    EXECUTE format('CREATE TABLE mh_%s PARTITION OF mh FOR VALUES WITH (MODULUS 40, REMAINDER %s)', g, g);
  END LOOP;
END $$;
INSERT INTO mh SELECT g FROM generate_series(1, 4000) g;
CREATE INDEX mh_ax ON mh USING alexidx (k);
VACUUM ANALYZE mh;
SELECT k FROM mh WHERE k > 0 ORDER BY k LIMIT 5;
SELECT k FROM mh WHERE k > 0 ORDER BY k DESC LIMIT 5;
-- the same in a cursor, moved back and forth, while other scans come and go
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT k FROM ms WHERE k BETWEEN 50 AND 5950 ORDER BY k;
FETCH 3 FROM c;
SELECT count(k) FROM ms WHERE k < 3000;
FETCH ABSOLUTE 2000 FROM c;
FETCH BACKWARD 2 FROM c;
COMMIT;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(k), sum(k) FROM ms WHERE k >= 0;

-- An exclusion constraint's check scans the index under a dirty snapshot (a pinned scan) for
-- every insert; 100 violations caught in one transaction
CREATE TABLE ms_ex (k int, EXCLUDE USING alexidx (k WITH =));
INSERT INTO ms_ex SELECT g FROM generate_series(1, 100) g;
DO $$
DECLARE
  i int;
  caught int := 0;
BEGIN
  FOR i IN 1..100 LOOP
    BEGIN
      INSERT INTO ms_ex VALUES (i);
    EXCEPTION WHEN exclusion_violation THEN
      caught := caught + 1;
    END;
  END LOOP;
  RAISE NOTICE 'caught % exclusion violations', caught;
END $$;

-- index-only scans that fail in an EXCEPTION block
SET enable_seqscan = off;
SET enable_bitmapscan = off;
DO $$
DECLARE
  i int;
  caught int := 0;
  n bigint;
BEGIN
  FOR i IN 1..100 LOOP
    BEGIN
      SELECT count(*) INTO n FROM ms_0 WHERE k >= 0 AND 100 / (k - 50) > -1000;
    EXCEPTION WHEN division_by_zero THEN
      caught := caught + 1;
    END;
  END LOOP;
  RAISE NOTICE 'caught % divisions by zero', caught;
END $$;
SELECT count(k) FROM ms WHERE k >= 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE ms, ms_ex, mh;
DROP FUNCTION ms_index_only_scans(text);
