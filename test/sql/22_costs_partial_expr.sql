-- Planner estimates of partial and expression alexidx indexes, each against a btree twin on
-- the same data. A partial index is costed for the entries it holds (the planner's own
-- estimate of them, from the index's size, is nothing for a one-page index: every scan of it
-- looked nearly free), and an expression index uses the correlation ANALYZE keeps for its
-- column (it used none, so scans of a column in heap order cost four times btree's).
SET max_parallel_workers_per_gather = 0;
CREATE TABLE cp_ax (id bigint, r bigint, d int);
INSERT INTO cp_ax SELECT g, hashint8(g) & 2147483647, g % 10 FROM generate_series(1, 200000) g;
CREATE TABLE cp_bt AS SELECT * FROM cp_ax;
CREATE INDEX cp_ax_part ON cp_ax USING alexidx (r) WHERE d = 7;
CREATE INDEX cp_bt_part ON cp_bt (r) WHERE d = 7;
CREATE INDEX cp_ax_expr ON cp_ax USING alexidx ((id * 2));
CREATE INDEX cp_bt_expr ON cp_bt ((id * 2));
VACUUM ANALYZE cp_ax, cp_bt;

-- The estimated total cost of the plan's node that scans index idx.
CREATE FUNCTION cp_node_cost(q text, idx text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
  RETURN jsonb_path_query_first(plan, 'strict $.**? (@."Index Name" == $i)."Total Cost"',
                                jsonb_build_object('i', idx))::float8;
END $$;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
-- the partial index: both scans cost about the same (alexidx reads no index pages: about
-- 0.6 of btree's; it was 0.35, an index of one entry)
SELECT a / b BETWEEN 0.45 AND 1.5 AS partial_cost_like_btree
FROM (SELECT cp_node_cost('SELECT count(*) FROM cp_ax WHERE d = 7 AND r > 0', 'cp_ax_part') AS a,
             cp_node_cost('SELECT count(*) FROM cp_bt WHERE d = 7 AND r > 0', 'cp_bt_part') AS b) s;
-- a partial index whose table grew a hundredfold since its VACUUM ANALYZE: its entry count is
-- scaled as the table's (it was taken as it stood then: 1% of btree's cost)
CREATE TABLE cg_ax (r bigint, d int) WITH (autovacuum_enabled = off);
INSERT INTO cg_ax SELECT hashint8(g) & 2147483647, g % 10 FROM generate_series(1, 2000) g;
CREATE TABLE cg_bt (r bigint, d int) WITH (autovacuum_enabled = off);
INSERT INTO cg_bt SELECT * FROM cg_ax;
CREATE INDEX cg_ax_part ON cg_ax USING alexidx (r) WHERE d = 7;
CREATE INDEX cg_bt_part ON cg_bt (r) WHERE d = 7;
VACUUM ANALYZE cg_ax, cg_bt;
INSERT INTO cg_ax SELECT hashint8(g) & 2147483647, g % 10 FROM generate_series(2001, 200000) g;
INSERT INTO cg_bt SELECT hashint8(g) & 2147483647, g % 10 FROM generate_series(2001, 200000) g;
SELECT a / b BETWEEN 0.45 AND 1.5 AS grown_partial_cost_like_btree
FROM (SELECT cp_node_cost('SELECT count(*) FROM cg_ax WHERE d = 7 AND r > 0', 'cg_ax_part') AS a,
             cp_node_cost('SELECT count(*) FROM cg_bt WHERE d = 7 AND r > 0', 'cg_bt_part') AS b) s;
SELECT (SELECT count(*) FROM cg_ax WHERE d = 7 AND r > 0) =
       (SELECT count(*) FROM cg_bt WHERE d = 7 AND r > 0) AS grown_same_count;
DROP TABLE cg_ax, cg_bt;
-- the expression index over a column in heap order
SELECT a / b BETWEEN 0.5 AND 1.5 AS expression_cost_like_btree
FROM (SELECT cp_node_cost('SELECT sum(r) FROM cp_ax WHERE id * 2 BETWEEN 100000 AND 160000', 'cp_ax_expr') AS a,
             cp_node_cost('SELECT sum(r) FROM cp_bt WHERE id * 2 BETWEEN 100000 AND 160000', 'cp_bt_expr') AS b) s;
-- and with the planner free to choose, the same kind of plan as btree's
RESET enable_seqscan;
RESET enable_bitmapscan;
EXPLAIN (COSTS OFF) SELECT sum(r) FROM cp_ax WHERE id * 2 BETWEEN 100000 AND 160000;
EXPLAIN (COSTS OFF) SELECT sum(r) FROM cp_bt WHERE id * 2 BETWEEN 100000 AND 160000;
-- the answers agree
SELECT (SELECT sum(r) FROM cp_ax WHERE id * 2 BETWEEN 100000 AND 160000) =
       (SELECT sum(r) FROM cp_bt WHERE id * 2 BETWEEN 100000 AND 160000) AS same_sum,
       (SELECT count(*) FROM cp_ax WHERE d = 7 AND r > 0) =
       (SELECT count(*) FROM cp_bt WHERE d = 7 AND r > 0) AS same_count;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT (SELECT count(*) FROM cp_ax WHERE d = 7 AND r > 0) =
       (SELECT count(*) FROM cp_bt WHERE d = 7 AND r > 0) AS same_count_through_indexes;
RESET ALL;
DROP TABLE cp_ax, cp_bt;
DROP FUNCTION cp_node_cost;
