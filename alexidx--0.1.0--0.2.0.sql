-- alexidx 0.1.0 -> 0.2.0: PostgreSQL's WAL becomes the log of record; the sidecar worker follows it.
\echo Use "ALTER EXTENSION alexidx UPDATE TO '0.2.0'" to load this file. \quit

-- How far the sidecar has applied PostgreSQL's WAL (the log of record of alexidx indexes).
CREATE FUNCTION alexidx_status(
    OUT worker_state text, OUT in_recovery boolean,
    OUT wal_lsn pg_lsn, OUT applied_lsn pg_lsn, OUT durable_lsn pg_lsn,
    OUT apply_lag_bytes bigint, OUT durable_lag_bytes bigint,
    OUT slot_name text, OUT slot_restart_lsn pg_lsn, OUT retained_wal_bytes bigint)
AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
