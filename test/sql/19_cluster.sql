-- CLUSTER ... USING an alexidx index: the table is rewritten in the index's order (an index
-- scan of every entry under SnapshotAny: PostgreSQL sorts instead only for btree), rows and
-- all indexes intact, as CLUSTER on a btree index of the same column does.
CREATE TABLE cl (id int, k bigint, v text);
INSERT INTO cl SELECT g, CASE WHEN g % 97 = 0 THEN NULL ELSE (g * 7919) % 5003 END, md5(g::text)
  FROM generate_series(1, 20000) g;
DELETE FROM cl WHERE id % 10 = 0;
UPDATE cl SET k = k + 1 WHERE id % 10 = 1;
CREATE INDEX cl_ax ON cl USING alexidx (k);
CREATE INDEX cl_id ON cl (id);
CREATE TABLE ref_cl AS SELECT * FROM cl;
-- (not in key order before)
SELECT count(*) > 1000 AS scrambled_before FROM (
  SELECT k, lag(k) OVER (ORDER BY ctid) AS prev_k FROM cl) s WHERE prev_k > k;
CLUSTER cl USING cl_ax;
-- the rows, all of them, unchanged
SELECT count(*) AS rows_after, (SELECT count(*) FROM ref_cl) AS rows_before FROM cl;
SELECT count(*) AS differing FROM (
  (SELECT * FROM cl EXCEPT ALL SELECT * FROM ref_cl) UNION ALL (SELECT * FROM ref_cl EXCEPT ALL SELECT * FROM cl)) d;
-- heap order is key order, NULLs last (the index's order)
SELECT count(*) AS out_of_order FROM (
  SELECT k, lag(k) OVER (ORDER BY ctid) AS prev_k, lag(k IS NULL) OVER (ORDER BY ctid) AS prev_null FROM cl) s
WHERE (prev_k > k) OR (prev_null AND k IS NOT NULL);
-- the table remembers the index it was clustered on, and a plain CLUSTER uses it again
SELECT indisclustered FROM pg_index WHERE indexrelid = 'cl_ax'::regclass;
INSERT INTO cl SELECT g, g % 100, 'later' FROM generate_series(30001, 31000) g;
CLUSTER cl;
SELECT count(*) AS out_of_order_after_second_cluster FROM (
  SELECT k, lag(k) OVER (ORDER BY ctid) AS prev_k, lag(k IS NULL) OVER (ORDER BY ctid) AS prev_null FROM cl) s
WHERE (prev_k > k) OR (prev_null AND k IS NOT NULL);
-- both indexes answer as a seq scan does
INSERT INTO ref_cl SELECT g, g % 100, 'later' FROM generate_series(30001, 31000) g;
SELECT * FROM ax_check('cl', 'k BETWEEN 100 AND 300');
SELECT * FROM ax_check('cl', 'k IS NULL');
SELECT alexidx_check('cl_ax');
-- a partial alexidx index cannot be clustered on, as with btree
CREATE INDEX cl_part ON cl USING alexidx (k) WHERE k > 10;
CLUSTER cl USING cl_part;
