-- VACUUM removes dead entries from the tree and, durably, from the sidecar; both shrink.
-- The planner uses alexidx for selective predicates and a seq scan for unselective ones.
CREATE TABLE vac (k bigint, v int);
INSERT INTO vac SELECT (g::bigint * 2654435761) % 1000000007, g FROM generate_series(1, 1000000) g;
CREATE TABLE ref_vac AS SELECT * FROM vac;
CREATE INDEX vac_ax ON vac USING alexidx (k);
CREATE TEMP TABLE vac_before AS SELECT * FROM alexidx_stats('vac_ax');
SELECT entries, shared_bytes AS shared_before, sidecar_bytes AS sidecar_before
  FROM vac_before \gset
SELECT :entries AS entries;
DELETE FROM vac WHERE v % 10 <> 0;
DELETE FROM ref_vac WHERE v % 10 <> 0;
VACUUM vac;
-- the sidecar's range is compacted in the background: wait (at most 60 s) for it to shrink
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT sidecar_bytes FROM alexidx_stats('vac_ax')) < (SELECT sidecar_bytes / 2 FROM vac_before);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT entries, shared_bytes AS shared_after, sidecar_bytes AS sidecar_after
  FROM alexidx_stats('vac_ax') \gset
SELECT :entries AS entries_after_vacuum,
       :shared_after < :shared_before / 2 AS tree_memory_shrank,
       :sidecar_after < :sidecar_before / 2 AS sidecar_shrank;
SELECT * FROM ax_check('vac', 'k BETWEEN 1000000 AND 50000000');
SELECT alexidx_check('vac_ax');

-- Costs: with statistics, a selective predicate uses the index, an unselective one does not.
ANALYZE vac;
EXPLAIN (costs off) SELECT * FROM vac WHERE k = 12345;
EXPLAIN (costs off) SELECT * FROM vac WHERE k BETWEEN 1000 AND 2000000;
EXPLAIN (costs off) SELECT * FROM vac WHERE k > 10;
EXPLAIN (costs off) SELECT count(*) FROM vac WHERE k < 500000000;

-- Against a btree on the same column with the same selectivity.
CREATE INDEX vac_bt ON vac USING btree (k);
EXPLAIN (costs off) SELECT * FROM vac WHERE k = 12345;
EXPLAIN (costs off) SELECT * FROM vac WHERE k > 10;
DROP INDEX vac_bt;
