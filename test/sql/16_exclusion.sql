-- Exclusion constraints on an alexidx index: EXCLUDE USING alexidx (k WITH =) makes the key
-- unique (alexidx has no unique indexes). PostgreSQL inserts the entry, then scans the index
-- for another live row with the same key, so the entry that aminsert only buffered must be in
-- the shared tree before that scan (a scan flushes this backend's buffer first). Each outcome
-- is compared with the same statements on a table whose constraint uses btree.
CREATE TABLE xa (k bigint, v int, EXCLUDE USING alexidx (k WITH =));
CREATE TABLE xb (k bigint, v int, EXCLUDE USING btree (k WITH =));
SELECT indexrelid::regclass AS alexidx_constraint_index FROM pg_index WHERE indrelid = 'xa'::regclass;

-- the same statement on both tables; the error (if any) must be the same kind
CREATE FUNCTION x_both(stmt text) RETURNS TABLE (tbl text, outcome text) LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['xa', 'xb'] LOOP
    tbl := t;
    BEGIN
      EXECUTE format(stmt, t);
      outcome := 'ok';
    EXCEPTION WHEN exclusion_violation THEN
      outcome := 'exclusion_violation';
    END;
    RETURN NEXT;
  END LOOP;
END $$;
-- the two tables hold the same rows, and the alexidx index finds exactly them
CREATE FUNCTION x_same() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  a text;
  b text;
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  SELECT md5(coalesce(string_agg(k || ':' || v, ',' ORDER BY k, v), '')) INTO a FROM xa WHERE k > -1000000000;
  PERFORM set_config('enable_indexscan', 'off', true);
  PERFORM set_config('enable_seqscan', 'on', true);
  SELECT md5(coalesce(string_agg(k || ':' || v, ',' ORDER BY k, v), '')) INTO b FROM xb WHERE k > -1000000000;
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'on', true);
  RETURN a = b;
END $$;

SELECT * FROM x_both('INSERT INTO %I SELECT g, g FROM generate_series(1, 20000) g');
-- a duplicate of a committed key
SELECT * FROM x_both('INSERT INTO %I VALUES (777, 0)');
-- duplicates within one statement, whose entries are all still buffered when the second comes
SELECT * FROM x_both('INSERT INTO %I SELECT 30000 + g %% 1000, g FROM generate_series(1, 2000) g');
SELECT * FROM x_both('INSERT INTO %I SELECT 30000 + g, g FROM generate_series(1, 1000) g');
-- NULLs never conflict
SELECT * FROM x_both('INSERT INTO %I SELECT NULL, g FROM generate_series(1, 3) g');
-- an UPDATE onto another row's key, and one that keeps its own
SELECT * FROM x_both('UPDATE %I SET k = 5 WHERE k = 6');
SELECT * FROM x_both('UPDATE %I SET v = -v WHERE k BETWEEN 100 AND 200');
SELECT * FROM x_both('UPDATE %I SET k = k + 1000000 WHERE k BETWEEN 300 AND 400');
-- a deleted row's key is free again, in the same transaction and after it
SELECT * FROM x_both('DELETE FROM %I WHERE k = 42');
SELECT * FROM x_both('INSERT INTO %I VALUES (42, 4242)');
SELECT * FROM x_both('WITH d AS (DELETE FROM %1$I WHERE k = 43 RETURNING k) INSERT INTO %1$I SELECT k, 4343 FROM d');
SELECT x_same() AS same_rows;

-- ON CONFLICT DO NOTHING with the exclusion constraint as arbiter (a speculative insertion)
SELECT * FROM x_both('INSERT INTO %I SELECT g, -1 FROM generate_series(19990, 20010) g ON CONFLICT DO NOTHING');
SELECT count(*) FILTER (WHERE v = -1) AS new_rows FROM xa;
SELECT x_same() AS same_rows;

-- rolled back: the keys come free; a savepoint rolled back frees its own
BEGIN;
SELECT * FROM x_both('INSERT INTO %I SELECT g, 0 FROM generate_series(50001, 50100) g');
ROLLBACK;
BEGIN;
SELECT * FROM x_both('INSERT INTO %I VALUES (60000, 1)');
SAVEPOINT s;
SELECT * FROM x_both('INSERT INTO %I VALUES (60001, 1)');
ROLLBACK TO SAVEPOINT s;
SELECT * FROM x_both('INSERT INTO %I VALUES (60001, 2)');
SELECT * FROM x_both('INSERT INTO %I VALUES (60000, 3)');
COMMIT;
SELECT * FROM x_both('INSERT INTO %I SELECT g, 0 FROM generate_series(50001, 50100) g');
SELECT x_same() AS same_rows;

-- a deferred constraint is checked at commit
CREATE TABLE xd (k bigint, EXCLUDE USING alexidx (k WITH =) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO xd SELECT g FROM generate_series(1, 100) g;
BEGIN;
INSERT INTO xd VALUES (50);
SELECT count(*) AS both_rows_until_commit FROM xd WHERE k = 50;
COMMIT;
BEGIN;
INSERT INTO xd VALUES (101);
DELETE FROM xd WHERE k = 50;
INSERT INTO xd VALUES (50);
COMMIT;
SELECT count(*) AS rows_of_50 FROM xd WHERE k = 50;

SELECT alexidx_check(indexrelid::regclass) FROM pg_index WHERE indrelid IN ('xa'::regclass, 'xd'::regclass);
