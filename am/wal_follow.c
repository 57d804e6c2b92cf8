/*
 * wal_follow.c: the sidecar worker follows PostgreSQL's WAL into RocksDB.
 *
 * The WAL is the log of record of every logged alexidx index; the sidecar is its compacted
 * image, as heap files are to the WAL. The worker reads the WAL with PostgreSQL's xlogreader
 * from the sidecar's applied position, applies alexidx's records in large unsynced batches
 * (each batch also stores the position it reaches, atomically), syncs RocksDB's log every
 * SYNC_INTERVAL_MS and then moves its physical replication slot to the durable position, so
 * that checkpoints keep every WAL segment the sidecar still needs.
 *
 * Only the worker runs this file.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "alexidx.h"
#include "wal.h"

/* how often applied WAL is made durable (and the slot moved) while WAL keeps coming */
#define SYNC_INTERVAL_MS 200
/* entries gathered before one RocksDB write */
#define APPLY_BATCH_ENTRIES (256 * 1024)

static XLogReaderState *reader = NULL;
static ReadLocalXLogPageNoWaitPrivate reader_private;
static XLogRecPtr next_lsn = InvalidXLogRecPtr; /* where reading goes on */
static XLogRecPtr applied_lsn = InvalidXLogRecPtr;	/* the sidecar holds the WAL before it */
static XLogRecPtr durable_lsn = InvalidXLogRecPtr;	/* ... and durably before this */
static TimestampTz last_sync = 0;

/* entries read from the WAL and not yet written to RocksDB, in WAL order */
typedef struct PendingPart
{
	uint64		build_id;
	bool		is_delete;
	Size		off;
	Size		n;
} PendingPart;

static AxEntry *pend_entries = NULL;
static Size npend = 0;
static Size pend_cap = 0;
static PendingPart *pend_parts = NULL;
static int	npend_parts = 0;
static int	pend_parts_cap = 0;

static void
publish(void)
{
	pg_atomic_write_u64(&alexidx_shared->applied_lsn, applied_lsn);
	pg_atomic_write_u64(&alexidx_shared->durable_lsn, durable_lsn);
}

static void
add_pending(const char *data, Size len, bool is_delete)
{
	xl_alexidx_entries hdr;
	Size		n;

	if (len < SizeOfAlexidxEntries)
		elog(ERROR, "alexidx: WAL record at %X/%X is too short", LSN_FORMAT_ARGS(reader->ReadRecPtr));
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.format != ALEXIDX_WAL_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alexidx: WAL record at %X/%X has format %u, this alexidx reads format %u",
						LSN_FORMAT_ARGS(reader->ReadRecPtr), hdr.format, ALEXIDX_WAL_FORMAT),
				 errhint("Install the alexidx version that wrote this WAL.")));
	n = hdr.nentries;
	if (len != SizeOfAlexidxEntries + n * sizeof(AxEntry))
		elog(ERROR, "alexidx: WAL record at %X/%X has a bad length", LSN_FORMAT_ARGS(reader->ReadRecPtr));

	if (npend + n > pend_cap)
	{
		pend_cap = Max(pend_cap * 2, npend + n);
		pend_entries = pend_entries
			? repalloc_huge(pend_entries, pend_cap * sizeof(AxEntry))
			: MemoryContextAllocHuge(TopMemoryContext, pend_cap * sizeof(AxEntry));
	}
	memcpy(pend_entries + npend, data + SizeOfAlexidxEntries, n * sizeof(AxEntry));

	/* consecutive records of one build and kind make one part; order is kept */
	if (npend_parts > 0 && pend_parts[npend_parts - 1].build_id == hdr.build_id &&
		pend_parts[npend_parts - 1].is_delete == is_delete)
		pend_parts[npend_parts - 1].n += n;
	else
	{
		if (npend_parts == pend_parts_cap)
		{
			pend_parts_cap = Max(pend_parts_cap * 2, 64);
			pend_parts = pend_parts
				? repalloc(pend_parts, pend_parts_cap * sizeof(PendingPart))
				: MemoryContextAlloc(TopMemoryContext, pend_parts_cap * sizeof(PendingPart));
		}
		pend_parts[npend_parts].build_id = hdr.build_id;
		pend_parts[npend_parts].is_delete = is_delete;
		pend_parts[npend_parts].off = npend;
		pend_parts[npend_parts].n = n;
		npend_parts++;
	}
	npend += n;
}

/*
 * Writes what was read, with next_lsn, in one RocksDB batch. On failure (a full disk, say)
 * nothing was written: reading goes back to the applied position and tries again later.
 */
static bool
apply_pending(AxDb *db, AxError *err)
{
	AxWritePart *parts = palloc(sizeof(AxWritePart) * Max(npend_parts, 1));
	int			i;

	for (i = 0; i < npend_parts; i++)
	{
		parts[i].build_id = pend_parts[i].build_id;
		parts[i].is_delete = pend_parts[i].is_delete;
		parts[i].entries = pend_entries + pend_parts[i].off;
		parts[i].n = pend_parts[i].n;
	}
	alexidx_block_signals();
	ax_db_apply(db, parts, npend_parts, next_lsn, err);
	alexidx_unblock_signals();
	pfree(parts);
	npend = 0;
	npend_parts = 0;
	if (err->status != AX_OK)
	{
		next_lsn = applied_lsn;
		return false;
	}
	applied_lsn = next_lsn;
	publish();
	return true;
}

bool
alexidx_follow(AxDb *db, XLogRecPtr upto, Size budget, AxError *err)
{
	XLogRecPtr	start = next_lsn;
	bool		more = false;

	err->status = AX_OK;
	reader_private.end_of_wal = false;
	XLogBeginRead(reader, next_lsn);
	for (;;)
	{
		XLogRecord *record;
		char	   *errormsg = NULL;

		if (!XLogRecPtrIsInvalid(upto) && next_lsn >= upto)
			break;
		if (next_lsn - start >= budget)
		{
			more = true;
			break;
		}
		record = XLogReadRecord(reader, &errormsg);
		if (record == NULL)
		{
			if (reader_private.end_of_wal)
				break;
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("alexidx sidecar: could not read WAL at %X/%X: %s",
							LSN_FORMAT_ARGS(next_lsn), errormsg ? errormsg : "no record")));
		}
		if (XLogRecGetRmid(reader) == ALEXIDX_RMGR_ID)
		{
			uint8		info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;

			if (info == XLOG_ALEXIDX_INSERT || info == XLOG_ALEXIDX_DELETE)
				add_pending(XLogRecGetData(reader), XLogRecGetDataLen(reader),
							info == XLOG_ALEXIDX_DELETE);
		}
		next_lsn = reader->EndRecPtr;
		if (npend >= APPLY_BATCH_ENTRIES && !apply_pending(db, err))
			return false;
	}
	if ((npend > 0 || next_lsn != applied_lsn) && !apply_pending(db, err))
		return false;
	return more;
}

bool
alexidx_follow_catch_up(AxDb *db, AxError *err)
{
	XLogRecPtr	mark = alexidx_wal_log_mark();

	XLogFlush(mark);
	while (next_lsn < mark)
	{
		(void) alexidx_follow(db, mark, (Size) 1 << 30, err);
		if (err->status != AX_OK)
			return false;
		if (next_lsn < mark && reader_private.end_of_wal)
		{
			/* the mark is flushed, so the WAL up to it must be readable */
			err->status = AX_ERROR;
			snprintf(err->message, sizeof(err->message),
					 "the WAL up to %X/%X is flushed but could be read only to %X/%X",
					 LSN_FORMAT_ARGS(mark), LSN_FORMAT_ARGS(next_lsn));
			return false;
		}
	}
	return true;
}

void
alexidx_follow_sync(AxDb *db, bool now)
{
	AxError		err = {0};
	TimestampTz t = GetCurrentTimestamp();
	ReplicationSlot *slot = MyReplicationSlot;

	if (applied_lsn == durable_lsn)
		return;
	if (!now && !TimestampDifferenceExceeds(last_sync, t, SYNC_INTERVAL_MS))
		return;
	alexidx_block_signals();
	ax_db_sync(db, &err);
	alexidx_unblock_signals();
	last_sync = t;
	if (err.status != AX_OK)
	{
		ereport(LOG, (errmsg("alexidx sidecar: %s", err.message)));
		return;
	}
	durable_lsn = applied_lsn;
	publish();

	/* checkpoints may now recycle the WAL before the durable position */
	if (slot)
	{
		SpinLockAcquire(&slot->mutex);
		slot->data.restart_lsn = durable_lsn;
		SpinLockRelease(&slot->mutex);
		ReplicationSlotMarkDirty();
		ReplicationSlotsComputeRequiredLSN();
	}
}

/* Takes (or creates) the slot and checks that it kept the WAL from `from` on. */
static bool
take_slot(XLogRecPtr from, char *why, Size whylen)
{
	ReplicationSlot *slot;
	XLogRecPtr	restart;
	XLogRecPtr	invalidated;

	if (wal_level < WAL_LEVEL_REPLICA)
	{
		snprintf(why, whylen,
				 "alexidx needs wal_level = replica or logical (it is minimal): a replication slot keeps the WAL that the sidecar has not applied yet");
		return false;
	}
	if (max_replication_slots < 1)
	{
		snprintf(why, whylen,
				 "alexidx needs a replication slot for its sidecar: raise max_replication_slots (it is 0)");
		return false;
	}
	if (SearchNamedReplicationSlot(ALEXIDX_SLOT_NAME, true) == NULL)
		ReplicationSlotCreate(ALEXIDX_SLOT_NAME, false, RS_PERSISTENT, false);
	else
		ReplicationSlotAcquire(ALEXIDX_SLOT_NAME, true);
	slot = MyReplicationSlot;

	SpinLockAcquire(&slot->mutex);
	restart = slot->data.restart_lsn;
	invalidated = slot->data.invalidated_at;
	if (XLogRecPtrIsInvalid(restart) && XLogRecPtrIsInvalid(invalidated))
		slot->data.restart_lsn = restart = from;	/* new */
	SpinLockRelease(&slot->mutex);

	if (!XLogRecPtrIsInvalid(invalidated) || restart > from)
	{
		snprintf(why, whylen,
				 "the replication slot \"%s\" no longer keeps the WAL from %X/%X, which the sidecar needs (the slot was %s)",
				 ALEXIDX_SLOT_NAME, LSN_FORMAT_ARGS(from),
				 !XLogRecPtrIsInvalid(invalidated) ? "invalidated by max_slot_wal_keep_size" : "advanced by hand");
		return false;
	}
	ReplicationSlotMarkDirty();
	ReplicationSlotSave();
	ReplicationSlotsComputeRequiredLSN();
	return true;
}

bool
alexidx_follow_start(AxDb *db, char *why, Size whylen)
{
	AxError		err = {0};
	uint64		lsn;

	alexidx_block_signals();
	ax_db_applied_lsn(db, &lsn, &err);
	alexidx_unblock_signals();
	if (err.status != AX_OK)
	{
		snprintf(why, whylen, "could not read the sidecar's WAL position: %s", err.message);
		return false;
	}
	if (lsn == 0)
	{
		/*
		 * A new sidecar, or one written by alexidx 0.1.0, whose writes were all synced: it
		 * holds everything so far, and no alexidx record is older than now (every record
		 * needs a build, which this worker hands out).
		 */
		lsn = GetXLogInsertRecPtr();
		next_lsn = lsn;
		if (!apply_pending(db, &err))
		{
			snprintf(why, whylen, "could not record the sidecar's WAL position: %s", err.message);
			return false;
		}
		alexidx_follow_sync(db, true);
	}
	next_lsn = applied_lsn = durable_lsn = lsn;
	publish();

	if (!take_slot(lsn, why, whylen))
		return false;

	reader = XLogReaderAllocate(wal_segment_size, NULL,
								XL_ROUTINE(.page_read = read_local_xlog_page_no_wait,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								&reader_private);
	if (reader == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("Failed while allocating a WAL reading processor.")));
	ereport(LOG, (errmsg("alexidx sidecar: following the WAL from %X/%X", LSN_FORMAT_ARGS(lsn))));
	return true;
}
