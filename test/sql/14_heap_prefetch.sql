-- Heap prefetch for index scans (scan_prefetch.c): an index scan looks up the buffers of the
-- rows it will return next and asks the CPU to load their tuples. That is only a hint, so at
-- every alexidx.prefetch_distance each scan must return a seq scan's rows in key order. The
-- table has unused line pointers (deleted and vacuumed rows), HOT chains (redirects), rows
-- inserted after the build, and keys spread over every page, so each chunk of a scan crosses
-- many pages. Whether prefetching speeds scans up is measured by scripts/pg-bench.sh.
CREATE TABLE hp (k bigint, v int, pad text);
CREATE INDEX hp_ax ON hp USING alexidx (k);
-- 60013 is prime: the keys are unique and scattered over the heap
INSERT INTO hp SELECT (g::bigint * 7919) % 60013, g, repeat('x', g % 40) FROM generate_series(1, 60000) g;
DELETE FROM hp WHERE v % 7 = 0;
VACUUM hp;
UPDATE hp SET v = -v WHERE v % 5 = 0;
INSERT INTO hp SELECT g, g, '' FROM generate_series(60013, 61012) g;
CREATE TABLE ref_hp AS SELECT * FROM hp;

-- For each distance: does the plan scan hp_ax, and does the scan's order equal a sorted seq scan?
CREATE FUNCTION hp_same(tbl text, cond text, dir text)
RETURNS TABLE (distance int, uses_index boolean, nrows bigint, same_as_ref boolean)
LANGUAGE plpgsql AS $$
DECLARE
  q text := 'SELECT count(*), md5(coalesce(string_agg(k || '':'' || v, '',''), '''')) FROM '
            '(SELECT k, v FROM %s WHERE %s ORDER BY k %s) s';
  ref text;
  got text;
  line text;
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  EXECUTE format(q, 'ref_' || tbl, cond, dir) INTO nrows, ref;
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_sort', 'off', true);
  FOREACH distance IN ARRAY ARRAY[0, 1, 2, 16, 128] LOOP
    PERFORM set_config('alexidx.prefetch_distance', distance::text, true);
    uses_index := false;
    FOR line IN EXECUTE 'EXPLAIN (costs off) ' || format(q, tbl, cond, dir) LOOP
      uses_index := uses_index OR line ~ ('Index Scan (Backward )?using ' || tbl || '_ax');
    END LOOP;
    EXECUTE format(q, tbl, cond, dir) INTO nrows, got;
    same_as_ref := got = ref;
    RETURN NEXT;
  END LOOP;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_sort', 'on', true);
  PERFORM set_config('alexidx.prefetch_distance', '16', true);
END $$;

-- ranges of 1, about 100 and about 10,000 rows (chunks of 32, 64, ... 4096 rows), both ways
SELECT * FROM hp_same('hp', 'k = 4242', 'ASC');
SELECT * FROM hp_same('hp', 'k BETWEEN 100 AND 200', 'ASC');
SELECT * FROM hp_same('hp', 'k BETWEEN 100 AND 200', 'DESC');
SELECT * FROM hp_same('hp', 'k BETWEEN 20000 AND 30000', 'ASC');
SELECT * FROM hp_same('hp', 'k BETWEEN 20000 AND 30000', 'DESC');
-- the whole index, and two ranges in one scan
SELECT * FROM hp_same('hp', 'k >= 0', 'ASC');
SELECT * FROM hp_same('hp', 'k < 50 OR k > 60900', 'DESC');

-- A scroll cursor that turns around, against the same cursor over a sorted seq scan.
CREATE FUNCTION hp_cursor_same(distance int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  a refcursor;
  b refcursor;
  ra record;
  rb record;
  moves int[] := ARRAY[40, -7, 300, -299, 5000, -1, 1, 2, -4000, 9000];
  m int;
  i int;
BEGIN
  PERFORM set_config('alexidx.prefetch_distance', distance::text, true);
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  PERFORM set_config('enable_sort', 'off', true);
  OPEN a SCROLL FOR SELECT k, v FROM hp WHERE k BETWEEN 5000 AND 15000 ORDER BY k;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'off', true);
  PERFORM set_config('enable_sort', 'on', true);
  OPEN b SCROLL FOR SELECT k, v FROM ref_hp WHERE k BETWEEN 5000 AND 15000 ORDER BY k;
  PERFORM set_config('enable_indexscan', 'on', true);
  FOREACH m IN ARRAY moves LOOP
    FOR i IN 1 .. abs(m) LOOP
      IF m > 0 THEN
        FETCH NEXT FROM a INTO ra;
        FETCH NEXT FROM b INTO rb;
      ELSE
        FETCH PRIOR FROM a INTO ra;
        FETCH PRIOR FROM b INTO rb;
      END IF;
      IF ra IS DISTINCT FROM rb THEN
        RAISE NOTICE 'move %, step %: % against %', m, i, ra, rb;
        RETURN false;
      END IF;
    END LOOP;
  END LOOP;
  CLOSE a;
  CLOSE b;
  RETURN true;
END $$;
SELECT d AS distance, hp_cursor_same(d) AS same_as_ref FROM unnest(ARRAY[0, 16, 128]) d;

-- Merge joins mark and restore the inner scan (the outer has duplicate keys): the chunk restarts
-- from the mark.
CREATE TABLE hq AS SELECT k % 3000 AS k, v FROM ref_hp;
CREATE INDEX hq_ax ON hq USING alexidx (k);
CREATE TABLE ref_hq AS SELECT * FROM hq;
SET enable_hashjoin = off; SET enable_nestloop = off; SET enable_seqscan = off;
SET enable_bitmapscan = off; SET enable_material = off;
EXPLAIN (costs off) SELECT count(*), sum(a.v::bigint * b.v) FROM hq a JOIN hq b ON a.k = b.k;
SET alexidx.prefetch_distance = 16;
SELECT (SELECT (count(*), sum(a.v::bigint * b.v)) FROM hq a JOIN hq b ON a.k = b.k) =
       (SELECT (count(*), sum(a.v::bigint * b.v)) FROM ref_hq a JOIN ref_hq b ON a.k = b.k)
       AS same_as_ref;
SET alexidx.prefetch_distance = 128;
SELECT (SELECT (count(*), sum(a.v::bigint * b.v)) FROM hq a JOIN hq b ON a.k = b.k) =
       (SELECT (count(*), sum(a.v::bigint * b.v)) FROM ref_hq a JOIN ref_hq b ON a.k = b.k)
       AS same_as_ref;
RESET enable_hashjoin; RESET enable_nestloop; RESET enable_seqscan; RESET enable_bitmapscan;
RESET enable_material;
RESET alexidx.prefetch_distance;

-- A temporary table's pages are in local buffers, which the prefetch leaves alone.
CREATE TEMP TABLE hpt AS SELECT * FROM ref_hp;
CREATE INDEX hpt_ax ON hpt USING alexidx (k);
CREATE TEMP TABLE ref_hpt AS SELECT * FROM ref_hp;
SELECT * FROM hp_same('hpt', 'k BETWEEN 20000 AND 30000', 'ASC');

-- Out of range
SET alexidx.prefetch_distance = 129;
SET alexidx.prefetch_distance = -1;
SHOW alexidx.prefetch_distance;
