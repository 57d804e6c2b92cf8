/*
 * status.c: alexidx_status(), how far the sidecar worker has applied the WAL.
 *
 * The WAL is the log of record: the sidecar trails it by the apply lag, and the worker's
 * replication slot keeps the WAL from the durable position on. A DBA watches the lag (it
 * should stay under a second of WAL) and the WAL the slot retains.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "funcapi.h"
#include "replication/slot.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"

#include "alexidx.h"
#include "shared/ipc.h"

PG_FUNCTION_INFO_V1(alexidx_status);

static const char *
worker_state_name(uint32 state)
{
	switch (state)
	{
		case AXW_STARTING:
			return "starting";
		case AXW_RUNNING:
			return "running";
		case AXW_FAILED:
			return "failed";
	}
	return "unknown";
}

Datum
alexidx_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {0};
	XLogRecPtr	snapshot;
	bool		recovery = RecoveryInProgress();
	XLogRecPtr	wal = recovery ? GetXLogReplayRecPtr(NULL) : GetFlushRecPtr(NULL);
	XLogRecPtr	applied,
				durable;
	ReplicationSlot *slot;

	alexidx_require_preload();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	applied = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn);
	durable = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->durable_lsn);
	values[0] = CStringGetTextDatum(worker_state_name(pg_atomic_read_u32(&alexidx_shared->worker_state)));
	values[1] = BoolGetDatum(recovery);
	values[2] = LSNGetDatum(wal);
	values[3] = LSNGetDatum(applied);
	values[4] = LSNGetDatum(durable);
	values[5] = Int64GetDatum(wal > applied ? (int64) (wal - applied) : 0);
	values[6] = Int64GetDatum(wal > durable ? (int64) (wal - durable) : 0);
	values[7] = CStringGetTextDatum(ALEXIDX_SLOT_NAME);

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(ALEXIDX_SLOT_NAME, false);
	if (slot)
	{
		XLogRecPtr	restart;

		SpinLockAcquire(&slot->mutex);
		restart = slot->data.restart_lsn;
		SpinLockRelease(&slot->mutex);
		values[8] = LSNGetDatum(restart);
		values[9] = Int64GetDatum(wal > restart && restart != InvalidXLogRecPtr ? (int64) (wal - restart) : 0);
		nulls[8] = restart == InvalidXLogRecPtr;
	}
	else
		nulls[7] = nulls[8] = nulls[9] = true;
	LWLockRelease(ReplicationSlotControlLock);
	/*
	 * The newest snapshot base backups carry (0.3.0). A definition of 0.2.0 not updated yet
	 * has no such column: the tuple takes the first natts values only.
	 */
	snapshot = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->snapshot_lsn);
	values[10] = LSNGetDatum(snapshot);
	nulls[10] = snapshot == InvalidXLogRecPtr;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
