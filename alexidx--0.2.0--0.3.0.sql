-- alexidx 0.2.0 -> 0.3.0: date, timestamp and timestamptz compared with each other use the index.
\echo Use "ALTER EXTENSION alexidx UPDATE TO '0.3.0'" to load this file. \quit

-- A new install has one family for the three types (datetime_ops). An operator class cannot
-- move to another family without being dropped with its indexes, so an update adds the
-- cross-type comparisons to each type's own family instead: the index serves the same queries.
ALTER OPERATOR FAMILY date_ops USING alexidx ADD
    OPERATOR 1 < (date, timestamp), OPERATOR 2 <= (date, timestamp), OPERATOR 3 = (date, timestamp),
    OPERATOR 4 >= (date, timestamp), OPERATOR 5 > (date, timestamp),
    FUNCTION 1 (date, timestamp) date_cmp_timestamp(date, timestamp),
    OPERATOR 1 < (date, timestamptz), OPERATOR 2 <= (date, timestamptz), OPERATOR 3 = (date, timestamptz),
    OPERATOR 4 >= (date, timestamptz), OPERATOR 5 > (date, timestamptz),
    FUNCTION 1 (date, timestamptz) date_cmp_timestamptz(date, timestamptz);
ALTER OPERATOR FAMILY timestamp_ops USING alexidx ADD
    OPERATOR 1 < (timestamp, date), OPERATOR 2 <= (timestamp, date), OPERATOR 3 = (timestamp, date),
    OPERATOR 4 >= (timestamp, date), OPERATOR 5 > (timestamp, date),
    FUNCTION 1 (timestamp, date) timestamp_cmp_date(timestamp, date),
    OPERATOR 1 < (timestamp, timestamptz), OPERATOR 2 <= (timestamp, timestamptz), OPERATOR 3 = (timestamp, timestamptz),
    OPERATOR 4 >= (timestamp, timestamptz), OPERATOR 5 > (timestamp, timestamptz),
    FUNCTION 1 (timestamp, timestamptz) timestamp_cmp_timestamptz(timestamp, timestamptz);
ALTER OPERATOR FAMILY timestamptz_ops USING alexidx ADD
    OPERATOR 1 < (timestamptz, date), OPERATOR 2 <= (timestamptz, date), OPERATOR 3 = (timestamptz, date),
    OPERATOR 4 >= (timestamptz, date), OPERATOR 5 > (timestamptz, date),
    FUNCTION 1 (timestamptz, date) timestamptz_cmp_date(timestamptz, date),
    OPERATOR 1 < (timestamptz, timestamp), OPERATOR 2 <= (timestamptz, timestamp), OPERATOR 3 = (timestamptz, timestamp),
    OPERATOR 4 >= (timestamptz, timestamp), OPERATOR 5 > (timestamptz, timestamp),
    FUNCTION 1 (timestamptz, timestamp) timestamptz_cmp_timestamp(timestamptz, timestamp);

-- alexidx_status() also shows the newest sidecar snapshot, which base backups carry.
DROP FUNCTION alexidx_status();
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
