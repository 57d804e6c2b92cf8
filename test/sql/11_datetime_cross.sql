-- date, timestamp and timestamptz compared with each other use the index (one operator family
-- for the three, as btree's datetime_ops), with PostgreSQL's own cross-type semantics: time
-- zones (a daylight saving change in New York), midnights, and infinities.
SET TimeZone = 'America/New_York';
CREATE TABLE dt (d date, ts timestamp, tz timestamptz);
-- every 7 minutes from March 6 to March 10, 2026 (clocks spring forward on March 8, 02:00)
INSERT INTO dt SELECT t::date, t, t::timestamptz
  FROM generate_series(timestamp '2026-03-06', timestamp '2026-03-10', interval '7 minutes') t;
INSERT INTO dt VALUES ('infinity', 'infinity', 'infinity'), ('-infinity', '-infinity', '-infinity'),
  (NULL, NULL, NULL), ('2026-03-08', '2026-03-08 00:00', '2026-03-08 00:00'),
  ('5874897-12-31', '294276-12-31 23:59:59', '294276-12-30 23:59:59+00'), ('4713-01-01 BC', '4713-01-01 00:00 BC', '4713-01-02 00:00+00 BC');
CREATE TABLE ref_dt AS SELECT * FROM dt;
CREATE INDEX dt_d_ax ON dt USING alexidx (d);
CREATE INDEX dt_ts_ax ON dt USING alexidx (ts);
CREATE INDEX dt_tz_ax ON dt USING alexidx (tz);

-- each column against the two other types, every operator, values at and between midnights,
-- in the skipped hour, and the infinities
CREATE TABLE conds AS
SELECT format('%s %s %s', col, op, arg) AS cond
FROM (VALUES ('d'), ('ts'), ('tz')) c(col),
     (VALUES ('<'), ('<='), ('='), ('>='), ('>')) o(op),
     (VALUES ('date ''2026-03-08'''), ('date ''2026-03-07'''), ('date ''infinity'''), ('date ''-infinity'''),
             ('timestamp ''2026-03-08 00:00'''), ('timestamp ''2026-03-08 02:30'''), ('timestamp ''2026-03-08 03:00'''),
             ('timestamp ''2026-03-07 13:41'''), ('timestamp ''infinity'''), ('timestamp ''-infinity'''),
             ('timestamptz ''2026-03-08 05:00+00'''), ('timestamptz ''2026-03-08 07:30+00'''),
             ('timestamptz ''2026-03-07 13:41-05'''), ('timestamptz ''infinity'''), ('timestamptz ''-infinity''')) a(arg)
WHERE NOT (col = 'd' AND arg LIKE 'date%') AND NOT (col = 'ts' AND arg LIKE 'timestamp ''%')
  AND NOT (col = 'tz' AND arg LIKE 'timestamptz%');
INSERT INTO conds VALUES
  ('d BETWEEN timestamp ''2026-03-07 12:00'' AND timestamptz ''2026-03-09 00:00-04'''),
  ('ts >= date ''2026-03-08'' AND ts < date ''2026-03-09'''),
  ('tz >= date ''2026-03-08'' AND tz < date ''2026-03-09'''),
  ('tz > timestamp ''2026-03-08 01:50'' AND tz <= timestamp ''2026-03-08 03:20'''),
  ('d = ANY (ARRAY[timestamp ''2026-03-07 00:00'', timestamp ''2026-03-08 12:00'', timestamp ''infinity''])'),
  ('d IN (timestamptz ''2026-03-09 00:00-04'', timestamptz ''2026-03-09 00:00-05'')'),
  ('ts = ANY (ARRAY[date ''2026-03-07'', date ''2026-03-08'', date ''-infinity'', NULL])'),
  ('tz = ANY (ARRAY[timestamp ''2026-03-08 03:02'', timestamp ''2026-03-07 10:09''])'),
  ('ts < ANY (ARRAY[timestamptz ''2026-03-06 12:00-05'', timestamptz ''2026-03-06 06:00-05''])'),
  ('ts = ANY (ARRAY[timestamptz ''2026-03-08 07:30+00'', timestamptz ''2026-03-08 07:04+00''])');
SELECT count(*) AS conditions FROM conds;

-- every condition, by index scan and by bitmap scan: the plan uses an alexidx index and the
-- rows equal a seq scan of the copy without indexes
SELECT count(*) AS checks,
       count(*) FILTER (WHERE NOT uses_alexidx) AS without_alexidx,
       count(*) FILTER (WHERE NOT same_as_ref) AS wrong_rows
FROM conds, LATERAL ax_check('dt', cond);
SELECT cond, scan, uses_alexidx, same_as_ref
FROM conds, LATERAL ax_check('dt', cond) WHERE NOT (uses_alexidx AND same_as_ref);

-- the answer follows the session's time zone, as the comparison does
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off) SELECT count(*) FROM dt WHERE tz < date '2026-03-08';
SELECT count(*) FROM dt WHERE tz < date '2026-03-08';
SET TimeZone = 'UTC';
SELECT count(*) FROM dt WHERE tz < date '2026-03-08';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FROM ref_dt WHERE tz < date '2026-03-08';
RESET TimeZone;
DROP TABLE dt, ref_dt, conds;

-- Time zones far from UTC. A timestamp column compared with a timestamptz value matches rows
-- as far from the value as the session's UTC offset, which PostgreSQL lets reach a week
-- (SET TIME ZONE INTERVAL '+30:00' HOUR TO MINUTE is '<+30>-30'); rows on either side of
-- 2000-01-01 (where the keys change sign), in zones east and west, with and without DST.
CREATE TABLE tzf (ts timestamp);
INSERT INTO tzf SELECT t FROM generate_series(timestamp '1999-12-18', timestamp '2000-01-14', interval '37 minutes') t;
INSERT INTO tzf SELECT t FROM generate_series(timestamp '2026-02-20', timestamp '2026-03-20', interval '37 minutes') t;
CREATE TABLE ref_tzf AS SELECT * FROM tzf;
CREATE INDEX tzf_ax ON tzf USING alexidx (ts);
CREATE TABLE tzconds AS
SELECT format('ts %s timestamptz %L', op, arg) AS cond
FROM (VALUES ('<'), ('<='), ('='), ('>='), ('>')) o(op),
     (VALUES ('1999-12-31 00:00+00'), ('2000-01-01 00:00+00'), ('2000-01-03 05:00+00'),
             ('2026-03-01 12:00+00'), ('2026-03-08 07:30+00')) a(arg);
-- equalities that match a row in some zones: a row's local time minus each zone's offset
INSERT INTO tzconds VALUES
  ('ts = ANY (ARRAY(SELECT timestamptz ''2000-01-01 00:00+00'' + i * interval ''1 minute'' FROM generate_series(-20000, 20000, 37) i))');
CREATE FUNCTION tz_check(zone text) RETURNS TABLE (checks bigint, without_alexidx bigint, wrong_rows bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('TimeZone', zone, true);
  RETURN QUERY SELECT count(*), count(*) FILTER (WHERE NOT c.uses_alexidx), count(*) FILTER (WHERE NOT c.same_as_ref)
    FROM tzconds, LATERAL ax_check('tzf', cond) c;
END $$;
SELECT zone, (tz_check(zone)).*
FROM (VALUES ('UTC'), ('America/New_York'), ('Pacific/Kiritimati'), ('<+30>-30'), ('<-30>+30'),
             ('<+150>-150'), ('<-150>+150'), ('XXX+100YYY'), ('XXX-100YYY')) z(zone);
-- in UTC an equality reads only its own rows (no window of keys to recheck)
SET TimeZone = 'UTC';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_indexonlyscan = off;
EXPLAIN (analyze, costs off, timing off, summary off)
  SELECT * FROM tzf WHERE ts = timestamptz '2026-03-01 12:10+00';
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_indexonlyscan;
RESET TimeZone;
DROP TABLE tzf, ref_tzf, tzconds;
DROP FUNCTION tz_check(text);
