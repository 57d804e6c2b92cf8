-- INSERT ... ON CONFLICT: rows that are inserted or updated are found through the index,
-- rows that lost a conflict are not (issue 10, item 5: entries of speculative insertions are
-- checked before they reach the index; the race itself is tested by TAP 022_on_conflict).
CREATE TABLE up (id int, k bigint);
CREATE UNIQUE INDEX up_id ON up (id);
CREATE INDEX up_ax ON up USING alexidx (k);
CREATE TABLE ref_up (id int, k bigint);
CREATE UNIQUE INDEX ref_up_id ON ref_up (id);

-- the same statements on both tables
CREATE FUNCTION up_both(stmt text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format(stmt, 'up');
  EXECUTE format(stmt, 'ref_up');
END $$;
SELECT up_both('INSERT INTO %I SELECT g, g * 10 FROM generate_series(1, 2000) g');
SELECT up_both('INSERT INTO %I SELECT g, -g FROM generate_series(1500, 3500) g ON CONFLICT (id) DO NOTHING');
SELECT * FROM ax_check('up', 'k BETWEEN -3000 AND 20000');
SELECT up_both('INSERT INTO %I SELECT g, g + 100000 FROM generate_series(1000, 4000) g ON CONFLICT (id) DO UPDATE SET k = excluded.k');
SELECT * FROM ax_check('up', 'k > 100500');
SELECT * FROM ax_check('up', 'k < 100');
-- in a transaction with savepoints, flushes in between (a scan flushes this backend's buffer)
BEGIN;
SELECT up_both('INSERT INTO %I SELECT g, g FROM generate_series(3900, 4100) g ON CONFLICT (id) DO NOTHING');
SAVEPOINT s;
SELECT up_both('INSERT INTO %I SELECT g, 7 FROM generate_series(4050, 4200) g ON CONFLICT (id) DO UPDATE SET k = 7');
SELECT * FROM ax_check('up', 'k = 7');
ROLLBACK TO SAVEPOINT s;
SELECT up_both('INSERT INTO %I SELECT g, 8 FROM generate_series(4150, 4250) g ON CONFLICT (id) DO UPDATE SET k = 8');
COMMIT;
SELECT * FROM ax_check('up', 'k BETWEEN 0 AND 5000');
SELECT * FROM ax_check('up', 'k = 7');
SELECT alexidx_check('up_ax');

-- MERGE: its inserts, key-changing updates and deletes reach the index like any others, in
-- one statement and in a transaction that then reads its own writes
SELECT up_both('MERGE INTO %1$I t USING (SELECT g AS id, g * 3 AS k FROM generate_series(4000, 4600) g) s
  ON t.id = s.id
  WHEN MATCHED AND s.id %% 3 = 0 THEN DELETE
  WHEN MATCHED THEN UPDATE SET k = s.k
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.k)');
SELECT * FROM ax_check('up', 'k BETWEEN 11000 AND 14000');
SELECT * FROM ax_check('up', 'k = 8');
BEGIN;
SELECT up_both('MERGE INTO %1$I t USING (SELECT g AS id FROM generate_series(4550, 4700) g) s
  ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET k = -s.id
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, -s.id)');
SELECT * FROM ax_check('up', 'k < 0');
COMMIT;
SELECT * FROM ax_check('up', 'k BETWEEN -5000 AND 20000');
SELECT alexidx_check('up_ax');
DROP TABLE up, ref_up;
DROP FUNCTION up_both(text);

-- An ON CONFLICT insert's entry is still buffered (and noted as speculative) when a savepoint
-- truncates or rewrites the table and then rolls that back: the old heap and build are the
-- table again, and must have every entry. The speculative check must not look the entry's
-- TID up in the new, truncated heap (which does not have it, or has another row there).
CREATE TABLE spec_tr (id int, k int);
CREATE INDEX spec_tr_ax ON spec_tr USING alexidx (k);
BEGIN;
INSERT INTO spec_tr VALUES (1, 41);
INSERT INTO spec_tr VALUES (2, 42) ON CONFLICT DO NOTHING;
SAVEPOINT s;
TRUNCATE spec_tr;
INSERT INTO spec_tr VALUES (3, 7);
ROLLBACK TO s;
-- the same around a rewrite that moves the rows
INSERT INTO spec_tr VALUES (4, 44) ON CONFLICT DO NOTHING;
SAVEPOINT r;
DELETE FROM spec_tr WHERE id = 1;
ALTER TABLE spec_tr ALTER COLUMN id TYPE bigint;
INSERT INTO spec_tr VALUES (5, 5);
ROLLBACK TO r;
-- and a scan through the index after the truncation, while the entry is buffered
INSERT INTO spec_tr VALUES (6, 46) ON CONFLICT DO NOTHING;
SAVEPOINT q;
TRUNCATE spec_tr;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT count(*) FROM spec_tr WHERE k = 46;
ROLLBACK TO q;
COMMIT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT id, k FROM spec_tr WHERE k BETWEEN 0 AND 100 ORDER BY k;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SELECT id, k FROM spec_tr ORDER BY k;
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;
SELECT alexidx_check('spec_tr_ax');
DROP TABLE spec_tr;
