-- Rows that a transaction commits stay in the index when a savepoint that replaced or
-- dropped the index rolls back (issue 10, item 2). Each case checks the index against a
-- seq scan of the same rows and runs alexidx_check (heap -> index).
CREATE TABLE sp (k bigint, v int);
CREATE INDEX sp_ax ON sp USING alexidx (k);
CREATE TABLE ref_sp (k bigint, v int);

-- sp_same(): true when the index finds exactly the rows of ref_sp.
CREATE FUNCTION sp_same() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE got bigint; want bigint;
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  SELECT count(*) INTO got FROM sp WHERE k BETWEEN -1000000 AND 1000000;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'on', true);
  SELECT count(*) INTO want FROM ref_sp;
  IF got <> want THEN
    RAISE NOTICE 'index finds % of % rows', got, want;
  END IF;
  RETURN got = want;
END $$;

-- TRUNCATE inside a rolled-back savepoint
BEGIN;
INSERT INTO sp SELECT g, g FROM generate_series(1, 100) g;
SAVEPOINT s;
TRUNCATE sp;
INSERT INTO sp VALUES (-1, -1);
ROLLBACK TO SAVEPOINT s;
COMMIT;
INSERT INTO ref_sp SELECT g, g FROM generate_series(1, 100) g;
SELECT sp_same() AS after_truncate;
SELECT alexidx_check('sp_ax');

-- REINDEX inside a rolled-back savepoint
BEGIN;
INSERT INTO sp SELECT g, g FROM generate_series(101, 200) g;
SAVEPOINT s;
REINDEX INDEX sp_ax;
INSERT INTO sp VALUES (-2, -2);
ROLLBACK TO SAVEPOINT s;
COMMIT;
INSERT INTO ref_sp SELECT g, g FROM generate_series(101, 200) g;
SELECT sp_same() AS after_reindex;
SELECT alexidx_check('sp_ax');

-- DROP INDEX inside a rolled-back savepoint
BEGIN;
INSERT INTO sp SELECT g, g FROM generate_series(201, 300) g;
SAVEPOINT s;
DROP INDEX sp_ax;
ROLLBACK TO SAVEPOINT s;
COMMIT;
INSERT INTO ref_sp SELECT g, g FROM generate_series(201, 300) g;
SELECT sp_same() AS after_drop_index;
SELECT alexidx_check('sp_ax');

-- DROP TABLE inside a rolled-back savepoint
BEGIN;
INSERT INTO sp SELECT g, g FROM generate_series(301, 400) g;
SAVEPOINT s;
DROP TABLE sp;
ROLLBACK TO SAVEPOINT s;
COMMIT;
INSERT INTO ref_sp SELECT g, g FROM generate_series(301, 400) g;
SELECT sp_same() AS after_drop_table;
SELECT alexidx_check('sp_ax');

-- TRUNCATE inside a PL/pgSQL EXCEPTION block that fails
DO $$
BEGIN
  INSERT INTO sp SELECT g, g FROM generate_series(401, 500) g;
  BEGIN
    TRUNCATE sp;
    INSERT INTO sp VALUES (-3, -3);
    RAISE EXCEPTION 'undo the truncate';
  EXCEPTION WHEN raise_exception THEN
    NULL;
  END;
END $$;
INSERT INTO ref_sp SELECT g, g FROM generate_series(401, 500) g;
SELECT sp_same() AS after_exception_block;
SELECT alexidx_check('sp_ax');

-- A savepoint that TRUNCATEs and is released: the truncate holds, later rows are found.
BEGIN;
INSERT INTO sp SELECT g, g FROM generate_series(501, 600) g;
SAVEPOINT s;
TRUNCATE sp;
INSERT INTO sp SELECT g, g FROM generate_series(601, 650) g;
RELEASE SAVEPOINT s;
COMMIT;
TRUNCATE ref_sp;
INSERT INTO ref_sp SELECT g, g FROM generate_series(601, 650) g;
SELECT sp_same() AS after_released_truncate;
SELECT alexidx_check('sp_ax');
SELECT entries FROM alexidx_stats('sp_ax');
DROP TABLE sp, ref_sp;
DROP FUNCTION sp_same();
