-- NULLs, IN lists, ORDER BY with NULLS FIRST/LAST, index-only scans, merge joins.
CREATE TABLE n (k bigint, v int);
INSERT INTO n SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 7) % 1000 END, g
  FROM generate_series(1, 20000) g;
CREATE TABLE ref_n AS SELECT * FROM n;
CREATE INDEX n_ax ON n USING alexidx (k);
INSERT INTO n VALUES (NULL, -1), (5, -2);
INSERT INTO ref_n VALUES (NULL, -1), (5, -2);

SELECT * FROM ax_check('n', 'k IS NULL');
SELECT * FROM ax_check('n', 'k IS NOT NULL');
SELECT * FROM ax_check('n', 'k IS NOT NULL AND k < 10');
SELECT * FROM ax_check('n', 'k IS NULL AND k = 5');          -- contradictory
SELECT * FROM ax_check('n', 'k IN (1, 5, 5, 999, 123456)');
SELECT * FROM ax_check('n', 'k = ANY (ARRAY[3, NULL, 7]::bigint[])');
SELECT * FROM ax_check('n', 'k = ANY (ARRAY[]::bigint[])');
SELECT * FROM ax_check('n', 'k IN (1, 2, 3) AND k >= 2');
SELECT * FROM ax_check('n', 'k < ANY (ARRAY[3, 10])');
SELECT * FROM ax_check('n', 'k > ALL (ARRAY[990, 995])');  -- ALL is not indexable (as with btree)
SELECT * FROM ax_check('n', 'k = 5::int4 OR k IS NULL');  -- an OR is a bitmap-only plan

-- Full ordered scans return NULLs where btree puts them: last ascending, first descending.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT k FROM n ORDER BY k LIMIT 3;
EXPLAIN (costs off) SELECT k FROM n ORDER BY k DESC LIMIT 3;
EXPLAIN (costs off) SELECT k FROM n ORDER BY k DESC NULLS LAST LIMIT 3;
SELECT (SELECT array_agg(k) FROM (SELECT k FROM n ORDER BY k NULLS LAST) s) IS NOT DISTINCT FROM
       (SELECT array_agg(k) FROM (SELECT k FROM ref_n ORDER BY k NULLS LAST) s) AS asc_nulls_last_same;
SELECT (SELECT array_agg(k) FROM (SELECT k FROM n ORDER BY k DESC NULLS FIRST LIMIT 5000) s) IS NOT DISTINCT FROM
       (SELECT array_agg(k) FROM (SELECT k FROM ref_n ORDER BY k DESC NULLS FIRST LIMIT 5000) s) AS desc_nulls_first_same;
SELECT k, count(*) FROM (SELECT k FROM n WHERE k IN (998, 999, 1, 0) ORDER BY k LIMIT 30) s GROUP BY k ORDER BY min(k);
SELECT k FROM n WHERE k IN (998, 999, 1, 0) ORDER BY k DESC LIMIT 3;

-- Index-only scans: after VACUUM sets the visibility map, no heap fetches.
VACUUM n;
EXPLAIN (costs off) SELECT k FROM n WHERE k BETWEEN 10 AND 20;
CREATE FUNCTION ios_heap_fetches(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := 'no index only scan';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (analyze, costs off, timing off, summary off) ' || q LOOP
    IF line ~ 'Heap Fetches' THEN result := trim(line); END IF;
  END LOOP;
  RETURN result;
END $$;
SELECT ios_heap_fetches('SELECT k FROM n WHERE k BETWEEN 10 AND 20');
SELECT (SELECT array_agg(k ORDER BY k) FROM n WHERE k BETWEEN 10 AND 20) =
       (SELECT array_agg(k ORDER BY k) FROM ref_n WHERE k BETWEEN 10 AND 20) AS ios_same;
SELECT ios_heap_fetches('SELECT count(*) FROM n WHERE k IS NULL');
SELECT (SELECT count(*) FROM n WHERE k IS NULL) = (SELECT count(*) FROM ref_n WHERE k IS NULL) AS ios_nulls_same;

-- Merge join with mark/restore over duplicate keys.
CREATE TABLE m (k bigint);
INSERT INTO m SELECT g % 50 FROM generate_series(1, 500) g;
CREATE INDEX m_ax ON m USING alexidx (k);
VACUUM m;
SET enable_hashjoin = off;
SET enable_nestloop = off;
SET enable_sort = off;
SET enable_material = off;
EXPLAIN (costs off) SELECT count(*) FROM m a JOIN m b ON a.k = b.k;
SELECT count(*) FROM m a JOIN m b ON a.k = b.k;
RESET enable_hashjoin;
RESET enable_nestloop;
RESET enable_sort;
RESET enable_material;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT (SELECT count(*) FROM m a JOIN m b ON a.k = b.k) AS hash_join_count;

-- DESC / NULLS FIRST in the definition: a backward scan serves those orders.
CREATE INDEX ON n USING alexidx (k DESC);

SELECT alexidx_check('n_ax'), alexidx_check('m_ax');
