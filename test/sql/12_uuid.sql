-- uuid keys (uuid_ops): all 16 bytes in PostgreSQL's bytewise order, never the leading 8
-- alone. The data mixes random uuids, time-ordered (v7-style) ones, a group of 3,000 that share
-- their leading 8 bytes (ordered by the trailing 8 alone), duplicates, NULLs and the extremes,
-- including both sides of the leading byte's sign bit.
CREATE TABLE u (k uuid, v int);
INSERT INTO u SELECT md5(g::text)::uuid, g FROM generate_series(1, 20000) g;
INSERT INTO u SELECT (lpad(to_hex(1700000000000 + g / 7), 12, '0') || '7' || substr(md5('a' || g), 1, 3)
                      || '8' || substr(md5('b' || g), 1, 15))::uuid, 100000 + g
  FROM generate_series(1, 20000) g;
INSERT INTO u SELECT ('0123456789abcdef' || substr(md5('c' || g), 1, 16))::uuid, 200000 + g
  FROM generate_series(1, 3000) g;
INSERT INTO u SELECT k, v + 300000 FROM u WHERE v % 97 = 0;              -- duplicates
INSERT INTO u VALUES (NULL, -1), (NULL, -2),
  ('00000000-0000-0000-0000-000000000000', -3), ('ffffffff-ffff-ffff-ffff-ffffffffffff', -4),
  ('7fffffff-ffff-ffff-ffff-ffffffffffff', -5), ('80000000-0000-0000-0000-000000000000', -6),
  ('0123456789abcdef0000000000000000', -7), ('0123456789abcdefffffffffffffffff', -8),
  ('0123456789abcdeeffffffffffffffff', -9), ('0123456789abcdf00000000000000000', -10);
CREATE TABLE ref_u AS SELECT * FROM u;
CREATE INDEX u_ax ON u USING alexidx (k);
SELECT entries FROM alexidx_stats('u_ax');
SELECT * FROM ax_check('u', 'k = md5(''777'')::uuid');
SELECT * FROM ax_check('u', 'k = ''0123456789abcdef0000000000000000''');
SELECT * FROM ax_check('u', 'k < ''40000000-0000-0000-0000-000000000000''');
SELECT * FROM ax_check('u', 'k <= ''7fffffff-ffff-ffff-ffff-ffffffffffff''');
SELECT * FROM ax_check('u', 'k > ''7fffffff-ffff-ffff-ffff-ffffffffffff''');
SELECT * FROM ax_check('u', 'k >= ''80000000-0000-0000-0000-000000000000''');
SELECT * FROM ax_check('u', 'k > ''ffffffff-ffff-ffff-ffff-ffffffffffff''');     -- nothing above the top
SELECT * FROM ax_check('u', 'k < ''00000000-0000-0000-0000-000000000000''');     -- nor below the bottom
SELECT * FROM ax_check('u', 'k <= ''00000000-0000-0000-0000-000000000000''');
-- ranges inside the group that shares its leading 8 bytes: only the trailing 8 decide
SELECT * FROM ax_check('u', 'k > ''0123456789abcdef8000000000000000''');
SELECT * FROM ax_check('u', 'k BETWEEN ''0123456789abcdef4000000000000000'' AND ''0123456789abcdef4fffffffffffffff''');
SELECT * FROM ax_check('u', 'k > ''0123456789abcdef0000000000000000'' AND k < ''0123456789abcdefffffffffffffffff''');
SELECT * FROM ax_check('u', 'k >= ''0123456789abcdee0000000000000000'' AND k < ''0123456789abcdf00000000000000000''');
SELECT * FROM ax_check('u', 'k > ''0123456789abcdef1000000000000000'' AND k < ''0123456789abcdef0fffffffffffffff''');  -- empty
-- the time-ordered uuids: a window of about 700 "milliseconds"
SELECT * FROM ax_check('u', 'k >= ''018bcfe5-6800-7000-8000-000000000000'' AND k < ''018bcfe5-6aff-7fff-bfff-ffffffffffff''');
SELECT * FROM ax_check('u', 'k IN (md5(''1'')::uuid, md5(''2'')::uuid, ''0123456789abcdef0000000000000000'', ''00000000-0000-0000-0000-0000000000aa'')');
SELECT * FROM ax_check('u', 'k = ANY (ARRAY[md5(''5'')::uuid, md5(''5'')::uuid, NULL])');
SELECT * FROM ax_check('u', 'k IS NULL');
SELECT * FROM ax_check('u', 'k IS NOT NULL AND k < ''01000000-0000-0000-0000-000000000000''');
SELECT * FROM ax_check('u', 'k = NULL::uuid');
-- inserts after the build go through the buffer and the batch path
INSERT INTO u SELECT md5('late' || g)::uuid, 1000000 + g FROM generate_series(1, 5000) g;
INSERT INTO u SELECT ('0123456789abcdef' || substr(md5('d' || g), 1, 16))::uuid, 1100000 + g FROM generate_series(1, 2000) g;
INSERT INTO ref_u SELECT * FROM u WHERE v >= 1000000;
SELECT * FROM ax_check('u', 'k BETWEEN ''0123456789abcdef4000000000000000'' AND ''0123456789abcdef4fffffffffffffff''');
SELECT * FROM ax_check('u', 'k >= ''f0000000-0000-0000-0000-000000000000''');
-- order in both directions, through the index, against a sort of the reference
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT k FROM u WHERE k > '0123456789abcdef0000000000000000' ORDER BY k LIMIT 5;
SELECT (SELECT array_agg(k ORDER BY n) FROM (SELECT k, row_number() OVER () n FROM
          (SELECT k FROM u WHERE k > '0123456789abcdee0000000000000000' ORDER BY k LIMIT 4000) s) s) =
       (SELECT array_agg(k ORDER BY k) FROM (SELECT k FROM ref_u WHERE k > '0123456789abcdee0000000000000000' ORDER BY k LIMIT 4000) s)
  AS ascending_same;
SELECT (SELECT array_agg(k ORDER BY n) FROM (SELECT k, row_number() OVER () n FROM
          (SELECT k FROM u WHERE k < '80000000-0000-0000-0000-000000000000' ORDER BY k DESC LIMIT 3000) s) s) =
       (SELECT array_agg(k ORDER BY k DESC) FROM (SELECT k FROM ref_u WHERE k < '80000000-0000-0000-0000-000000000000' ORDER BY k DESC LIMIT 3000) s)
  AS descending_same;
-- index-only scans return the whole uuid
EXPLAIN (costs off) SELECT k FROM u WHERE k BETWEEN '0123456789abcdef0000000000000000' AND '0123456789abcdefffffffffffffffff';
VACUUM u;
SELECT (SELECT md5(string_agg(k::text, ',' ORDER BY k)) FROM u
          WHERE k BETWEEN '0123456789abcdef0000000000000000' AND '0123456789abcdefffffffffffffffff') =
       (SELECT md5(string_agg(k::text, ',' ORDER BY k)) FROM ref_u
          WHERE k BETWEEN '0123456789abcdef0000000000000000' AND '0123456789abcdefffffffffffffffff')
  AS index_only_same;
SELECT k FROM u WHERE k BETWEEN '0123456789abcdee0000000000000000' AND '0123456789abcdf00000000000000000'
  ORDER BY k DESC LIMIT 3;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- VACUUM removes what was deleted, and the index still equals the heap
DELETE FROM u WHERE v % 3 = 0;
DELETE FROM ref_u WHERE v % 3 = 0;
VACUUM u;
SELECT * FROM ax_check('u', 'k >= ''0123456789abcdef0000000000000000'' AND k <= ''0123456789abcdefffffffffffffffff''');
SELECT * FROM ax_check('u', 'k < ''30000000-0000-0000-0000-000000000000''');
SELECT alexidx_check('u_ax');
-- a REINDEX builds the same index
REINDEX INDEX u_ax;
SELECT * FROM ax_check('u', 'k > ''0123456789abcdef8000000000000000''');
SELECT (SELECT count(*) FROM u) = (SELECT entries FROM alexidx_stats('u_ax')) AS all_entries;
-- uuid is the default operator class; a uuid index next to a bigint one in one table
CREATE TABLE u2 (id bigint, k uuid);
CREATE INDEX ON u2 USING alexidx (id);
CREATE INDEX ON u2 USING alexidx (k);
INSERT INTO u2 SELECT g, md5(g::text)::uuid FROM generate_series(1, 3000) g;
SET enable_seqscan = off;
SELECT id FROM u2 WHERE k = md5('1234')::uuid;
SELECT k FROM u2 WHERE id = 1234;
RESET enable_seqscan;
SELECT opcname FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
  WHERE a.amname = 'alexidx' AND c.opcintype = 'uuid'::regtype AND c.opcdefault;
