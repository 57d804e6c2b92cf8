-- alexidx--0.4.0.sql: the access method, its operator classes and its functions.
\echo Use "CREATE EXTENSION alexidx" to load this file. \quit

-- Refuse to install unless the library was preloaded: the trees need postmaster shared memory.
CREATE FUNCTION alexidx_require_preload() RETURNS void
AS 'MODULE_PATHNAME', 'alexidx_require_preload_sql' LANGUAGE C;
SELECT alexidx_require_preload();

CREATE FUNCTION alexidx_handler(internal) RETURNS index_am_handler
AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD alexidx TYPE INDEX HANDLER alexidx_handler;
COMMENT ON ACCESS METHOD alexidx IS 'ALEX learned index in shared memory, durable in a RocksDB sidecar';

-- One family for all integer widths, with the cross-type operators, as btree's integer_ops:
-- a bigint column compared with an int4 parameter still uses the index.
CREATE OPERATOR FAMILY integer_ops USING alexidx;
CREATE OPERATOR CLASS int8_ops DEFAULT FOR TYPE int8 USING alexidx FAMILY integer_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btint8cmp(int8, int8);
CREATE OPERATOR CLASS int4_ops DEFAULT FOR TYPE int4 USING alexidx FAMILY integer_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btint4cmp(int4, int4);
CREATE OPERATOR CLASS int2_ops DEFAULT FOR TYPE int2 USING alexidx FAMILY integer_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btint2cmp(int2, int2);
ALTER OPERATOR FAMILY integer_ops USING alexidx ADD
    OPERATOR 1 < (int8, int4),
    OPERATOR 2 <= (int8, int4),
    OPERATOR 3 = (int8, int4),
    OPERATOR 4 >= (int8, int4),
    OPERATOR 5 > (int8, int4),
    FUNCTION 1 (int8, int4) btint84cmp(int8, int4),
    OPERATOR 1 < (int8, int2),
    OPERATOR 2 <= (int8, int2),
    OPERATOR 3 = (int8, int2),
    OPERATOR 4 >= (int8, int2),
    OPERATOR 5 > (int8, int2),
    FUNCTION 1 (int8, int2) btint82cmp(int8, int2),
    OPERATOR 1 < (int4, int8),
    OPERATOR 2 <= (int4, int8),
    OPERATOR 3 = (int4, int8),
    OPERATOR 4 >= (int4, int8),
    OPERATOR 5 > (int4, int8),
    FUNCTION 1 (int4, int8) btint48cmp(int4, int8),
    OPERATOR 1 < (int4, int2),
    OPERATOR 2 <= (int4, int2),
    OPERATOR 3 = (int4, int2),
    OPERATOR 4 >= (int4, int2),
    OPERATOR 5 > (int4, int2),
    FUNCTION 1 (int4, int2) btint42cmp(int4, int2),
    OPERATOR 1 < (int2, int8),
    OPERATOR 2 <= (int2, int8),
    OPERATOR 3 = (int2, int8),
    OPERATOR 4 >= (int2, int8),
    OPERATOR 5 > (int2, int8),
    FUNCTION 1 (int2, int8) btint28cmp(int2, int8),
    OPERATOR 1 < (int2, int4),
    OPERATOR 2 <= (int2, int4),
    OPERATOR 3 = (int2, int4),
    OPERATOR 4 >= (int2, int4),
    OPERATOR 5 > (int2, int4),
    FUNCTION 1 (int2, int4) btint24cmp(int2, int4);

-- Floats: one family for float4 and float8, as btree's float_ops. Keys fold -0 onto +0 and
-- every NaN above +Infinity, which is how PostgreSQL orders floats.
CREATE OPERATOR FAMILY float_ops USING alexidx;
CREATE OPERATOR CLASS float8_ops DEFAULT FOR TYPE float8 USING alexidx FAMILY float_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btfloat8cmp(float8, float8);
CREATE OPERATOR CLASS float4_ops DEFAULT FOR TYPE float4 USING alexidx FAMILY float_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btfloat4cmp(float4, float4);
ALTER OPERATOR FAMILY float_ops USING alexidx ADD
    OPERATOR 1 < (float4, float8), OPERATOR 2 <= (float4, float8), OPERATOR 3 = (float4, float8),
    OPERATOR 4 >= (float4, float8), OPERATOR 5 > (float4, float8),
    FUNCTION 1 (float4, float8) btfloat48cmp(float4, float8),
    OPERATOR 1 < (float8, float4), OPERATOR 2 <= (float8, float4), OPERATOR 3 = (float8, float4),
    OPERATOR 4 >= (float8, float4), OPERATOR 5 > (float8, float4),
    FUNCTION 1 (float8, float4) btfloat84cmp(float8, float4);

-- Dates and times map to their integer representation; infinities are its extremes. One
-- family, as btree's datetime_ops: a comparison across the three types uses the index too
-- (the scan finds its bounds with the cross-type comparison functions below, so time zones and
-- infinities behave as PostgreSQL compares them).
CREATE OPERATOR FAMILY datetime_ops USING alexidx;
CREATE OPERATOR CLASS date_ops DEFAULT FOR TYPE date USING alexidx FAMILY datetime_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 date_cmp(date, date);
CREATE OPERATOR CLASS timestamp_ops DEFAULT FOR TYPE timestamp USING alexidx FAMILY datetime_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 timestamp_cmp(timestamp, timestamp);
CREATE OPERATOR CLASS timestamptz_ops DEFAULT FOR TYPE timestamptz USING alexidx FAMILY datetime_ops AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 timestamptz_cmp(timestamptz, timestamptz);
ALTER OPERATOR FAMILY datetime_ops USING alexidx ADD
    OPERATOR 1 < (date, timestamp), OPERATOR 2 <= (date, timestamp), OPERATOR 3 = (date, timestamp),
    OPERATOR 4 >= (date, timestamp), OPERATOR 5 > (date, timestamp),
    FUNCTION 1 (date, timestamp) date_cmp_timestamp(date, timestamp),
    OPERATOR 1 < (date, timestamptz), OPERATOR 2 <= (date, timestamptz), OPERATOR 3 = (date, timestamptz),
    OPERATOR 4 >= (date, timestamptz), OPERATOR 5 > (date, timestamptz),
    FUNCTION 1 (date, timestamptz) date_cmp_timestamptz(date, timestamptz),
    OPERATOR 1 < (timestamp, date), OPERATOR 2 <= (timestamp, date), OPERATOR 3 = (timestamp, date),
    OPERATOR 4 >= (timestamp, date), OPERATOR 5 > (timestamp, date),
    FUNCTION 1 (timestamp, date) timestamp_cmp_date(timestamp, date),
    OPERATOR 1 < (timestamp, timestamptz), OPERATOR 2 <= (timestamp, timestamptz), OPERATOR 3 = (timestamp, timestamptz),
    OPERATOR 4 >= (timestamp, timestamptz), OPERATOR 5 > (timestamp, timestamptz),
    FUNCTION 1 (timestamp, timestamptz) timestamp_cmp_timestamptz(timestamp, timestamptz),
    OPERATOR 1 < (timestamptz, date), OPERATOR 2 <= (timestamptz, date), OPERATOR 3 = (timestamptz, date),
    OPERATOR 4 >= (timestamptz, date), OPERATOR 5 > (timestamptz, date),
    FUNCTION 1 (timestamptz, date) timestamptz_cmp_date(timestamptz, date),
    OPERATOR 1 < (timestamptz, timestamp), OPERATOR 2 <= (timestamptz, timestamp), OPERATOR 3 = (timestamptz, timestamp),
    OPERATOR 4 >= (timestamptz, timestamp), OPERATOR 5 > (timestamptz, timestamp),
    FUNCTION 1 (timestamptz, timestamp) timestamptz_cmp_timestamp(timestamptz, timestamp);
CREATE OPERATOR CLASS oid_ops DEFAULT FOR TYPE oid USING alexidx AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 btoidcmp(oid, oid);
-- A uuid is a wide key: all 16 bytes, in PostgreSQL's bytewise uuid order.
CREATE OPERATOR CLASS uuid_ops DEFAULT FOR TYPE uuid USING alexidx AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 uuid_cmp(uuid, uuid);

CREATE FUNCTION alexidx_version() RETURNS text
AS 'MODULE_PATHNAME' LANGUAGE C STRICT IMMUTABLE;

CREATE FUNCTION alexidx_stats(index regclass,
    OUT entries bigint, OUT depth int, OUT model_nodes bigint, OUT data_nodes bigint,
    OUT shared_bytes bigint, OUT avg_search_distance float8, OUT buffered bigint,
    OUT sidecar_bytes bigint, OUT build_id bigint)
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION alexidx_check(index regclass, heapallindexed boolean DEFAULT true) RETURNS void
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

CREATE FUNCTION alexidx_sidecar_builds(
    OUT build_id bigint, OUT dboid oid, OUT relfilenode oid, OUT state text,
    OUT persistence text, OUT sidecar_bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

-- They expose index internals and can be expensive: superusers grant them as they see fit.
REVOKE ALL ON FUNCTION alexidx_stats(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION alexidx_check(regclass, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION alexidx_sidecar_builds() FROM PUBLIC;

-- How far the sidecar has applied PostgreSQL's WAL (the log of record of alexidx indexes).
CREATE FUNCTION alexidx_status(
    OUT worker_state text, OUT in_recovery boolean,
    OUT wal_lsn pg_lsn, OUT applied_lsn pg_lsn, OUT durable_lsn pg_lsn,
    OUT apply_lag_bytes bigint, OUT durable_lag_bytes bigint,
    OUT slot_name text, OUT slot_restart_lsn pg_lsn, OUT retained_wal_bytes bigint,
    OUT snapshot_lsn pg_lsn)
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;

-- What the trees did since they were loaded (ALEX's structural events), for tuning
-- max_node_slots and understanding insert costs.
CREATE FUNCTION alexidx_tree_events(index regclass,
    OUT expansions bigint, OUT retrains bigint, OUT shrinks bigint, OUT failed_shrinks bigint,
    OUT sideways_splits bigint, OUT downward_splits bigint, OUT model_doublings bigint,
    OUT model_widenings bigint, OUT parents_added bigint)
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION alexidx_tree_events(regclass) FROM PUBLIC;
