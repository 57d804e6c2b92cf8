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
#include "access/xlogrecovery.h"
#include "access/xlogutils.h"
#include "catalog/pg_class.h"
#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/fd.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "alexidx.h"
#include "shared/ipc.h"
#include "wal/wal.h"

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
/*
 * On a standby the worker is the only process that changes the trees: it applies each record
 * to the loaded tree as well as to RocksDB. Until a promoted server's worker has applied the
 * WAL replayed before the promotion, backends wait (alexidx_acquire) and it stays on.
 */
static bool tree_mode = false;
/*
 * Records before this position may create builds the sidecar has no record of: the sidecar
 * came from a snapshot (or is new after a loss), so the WAL after its position holds builds
 * made after it. On a running primary every build is recorded before it is logged.
 */
static XLogRecPtr rebuild_until = InvalidXLogRecPtr;
/*
 * The redo pointer of the newest checkpoint record read (on a standby, replayed): a
 * restartpoint, and so a base backup of the standby, can start there.
 */
static XLogRecPtr checkpoint_redo = InvalidXLogRecPtr;
static XLogRecPtr pending_checkpoint_redo = InvalidXLogRecPtr;

/* entries read from the WAL and not yet written to RocksDB, in WAL order */
typedef struct PendingPart
{
	uint64		build_id;
	bool		is_delete;
	bool		wide;			/* AX_WAL_WIDE */
	Size		off;
	Size		n;
} PendingPart;

static AxEntry *pend_entries = NULL;
static Size npend = 0;
static Size pend_cap = 0;
static PendingPart *pend_parts = NULL;
static Size npend_parts = 0;
static Size pend_parts_cap = 0;

static void move_slot(XLogRecPtr lsn, bool save);

static void
publish(void)
{
	pg_atomic_write_u64(&alexidx_shared->applied_lsn, applied_lsn);
	pg_atomic_write_u64(&alexidx_shared->durable_lsn, durable_lsn);
}

/* A record of another format came from another alexidx version: never guess at its layout. */
static void
check_format(unsigned format)
{
	if (format != ALEXIDX_WAL_FORMAT && format != ALEXIDX_WAL_FORMAT_WIDE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alexidx: WAL record at %X/%X has format %u, this alexidx reads formats %u and %u",
						LSN_FORMAT_ARGS(reader->ReadRecPtr), format, ALEXIDX_WAL_FORMAT,
						ALEXIDX_WAL_FORMAT_WIDE),
				 errhint("Install the alexidx version that wrote this WAL.")));
}

static void
add_pending(const char *data, Size len, bool is_delete)
{
	xl_alexidx_entries hdr;
	Size		n;

	if (len < SizeOfAlexidxEntries)
		elog(ERROR, "alexidx: WAL record at %X/%X is too short", LSN_FORMAT_ARGS(reader->ReadRecPtr));
	memcpy(&hdr, data, sizeof(hdr));
	check_format(hdr.format);
	if ((hdr.format == ALEXIDX_WAL_FORMAT_WIDE) != ((hdr.flags & AX_WAL_WIDE) != 0))
		elog(ERROR, "alexidx: WAL record at %X/%X is damaged (format and key width disagree)",
			 LSN_FORMAT_ARGS(reader->ReadRecPtr));
	n = hdr.nentries;
	if (n > AX_WAL_MAX_ENTRIES)
		elog(ERROR, "alexidx: WAL record at %X/%X has a bad length", LSN_FORMAT_ARGS(reader->ReadRecPtr));

	pend_entries = alexidx_grow(pend_entries, &pend_cap, npend + n, sizeof(AxEntry), 0, TopMemoryContext);
	if (!alexidx_wal_decode_entries(data, len, pend_entries + npend))
		elog(ERROR, "alexidx: WAL record at %X/%X is damaged", LSN_FORMAT_ARGS(reader->ReadRecPtr));

	/* consecutive records of one build and kind make one part; order is kept */
	if (npend_parts > 0 && pend_parts[npend_parts - 1].build_id == hdr.build_id &&
		pend_parts[npend_parts - 1].is_delete == is_delete &&
		pend_parts[npend_parts - 1].wide == ((hdr.flags & AX_WAL_WIDE) != 0))
		pend_parts[npend_parts - 1].n += n;
	else
	{
		if (npend_parts == pend_parts_cap)
			pend_parts = alexidx_grow(pend_parts, &pend_parts_cap, npend_parts + 1, sizeof(PendingPart), 64,
									  TopMemoryContext);
		pend_parts[npend_parts].build_id = hdr.build_id;
		pend_parts[npend_parts].is_delete = is_delete;
		pend_parts[npend_parts].wide = (hdr.flags & AX_WAL_WIDE) != 0;
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
/*
 * Applies one part to the build's loaded trees (standby). A tree that fails is forgotten: the
 * next use loads it from the sidecar, which then has the part.
 */
static void
apply_to_tree(const PendingPart *part)
{
	AxIndexEntry *entry;
	AxEntry    *entries = pend_entries + part->off;
	Size		nvalues;
	AxError		err = {0};
	bool		ok = true;

	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	entry = hash_search(alexidx_registry, &part->build_id, HASH_FIND, NULL);
	if (entry)
		LWLockAcquire(&entry->lock, LW_EXCLUSIVE);
	LWLockRelease(alexidx_shared->registry_lock);
	if (entry == NULL)
		return;
	/* sorting the copy is harmless: RocksDB gets the same set (a batch of one build and kind) */
	nvalues = alexidx_split_nulls(entries, part->n);
	if (part->is_delete)
		ok = ax_pair_erase_batch(entry->pair, entries, nvalues, part->n, NULL, &err) == AX_OK;
	else
		ok = ax_pair_insert_batch(entry->pair, entries, nvalues, part->n, &err) == AX_OK;
	if (!ok)
		ereport(LOG, (errmsg("alexidx sidecar: could not apply WAL to the tree of build " UINT64_FORMAT ", which will be loaded again: %s",
							 part->build_id, err.message)));
	LWLockRelease(&entry->lock);
	if (!ok)
		alexidx_forget_tree(part->build_id);
}

static bool
apply_pending(AxDb *db, AxError *err)
{
	AxWritePart *parts = palloc(sizeof(AxWritePart) * Max(npend_parts, 1));
	int			i;

	if (tree_mode)
		for (i = 0; i < npend_parts; i++)
			apply_to_tree(&pend_parts[i]);

	for (i = 0; i < npend_parts; i++)
	{
		parts[i].build_id = pend_parts[i].build_id;
		parts[i].is_delete = pend_parts[i].is_delete;
		parts[i].wide = pend_parts[i].wide;
		parts[i].entries = pend_entries + pend_parts[i].off;
		parts[i].n = pend_parts[i].n;
	}
	ax_db_apply(db, parts, npend_parts, next_lsn, alexidx_server_timeline(), err);
	pfree(parts);
	npend = 0;
	npend_parts = 0;
	if (err->status != AX_OK)
	{
		/* the trees took what the sidecar did not: they load again once it has it */
		if (tree_mode)
			alexidx_forget_all_trees();
		next_lsn = applied_lsn;
		return false;
	}
	applied_lsn = next_lsn;
	/* a checkpoint record read before is applied now (its redo pointer is behind it) */
	checkpoint_redo = Max(checkpoint_redo, Min(pending_checkpoint_redo, applied_lsn));
	publish();
	return true;
}

/* The build's record, or false when the sidecar has none (or cannot read it: logged). */
static bool
get_record(AxDb *db, uint64 build_id, AxBuildRecord *rec)
{
	AxError		err = {0};

	ax_db_get_record(db, build_id, rec, &err);
	if (err.status != AX_OK && err.status != AX_NOTFOUND)
		ereport(LOG, (errmsg("alexidx sidecar: %s", err.message)));
	return err.status == AX_OK;
}

static bool
put_record(AxDb *db, const AxBuildRecord *rec, AxError *err)
{
	ax_db_put_record(db, rec, err);
	return err->status == AX_OK;
}

/*
 * A build made from the WAL takes its entries while its record says so. On the primary the
 * record exists before the build is logged (and its entries came in SST files): nothing to do.
 */
static bool
building_from_wal(AxDb *db, uint64 build_id)
{
	AxBuildRecord rec;

	return get_record(db, build_id, &rec) && (rec.flags & AX_BUILD_FROM_WAL) &&
		rec.state == AX_BUILD_BUILDING;
}

/* BUILD_CREATE, BUILD_READY and RELOCATE, applied in WAL order (pending entries first). */
static bool
apply_build_record(AxDb *db, uint8 info, const char *data, Size len, AxError *err)
{
	xl_alexidx_build b;
	AxBuildRecord rec;
	bool		have;

	if (len != sizeof(b))
		elog(ERROR, "alexidx: WAL record at %X/%X has a bad length", LSN_FORMAT_ARGS(reader->ReadRecPtr));
	memcpy(&b, data, sizeof(b));
	check_format(b.format);
	if (npend > 0 && !apply_pending(db, err))
		return false;
	have = get_record(db, b.record.build_id, &rec);
	switch (info)
	{
		case XLOG_ALEXIDX_BUILD_CREATE:
			/*
			 * On a primary every build is recorded before it is logged: a missing record means
			 * the build was dropped since. Only a standby, and a sidecar catching up from a
			 * snapshot or from WAL another server wrote (alexidx_follow_start), make builds
			 * from the WAL.
			 */
			if (have || (!tree_mode && reader->ReadRecPtr >= rebuild_until))
				return true;
			rec = b.record;
			rec.state = AX_BUILD_BUILDING;
			rec.flags |= AX_BUILD_FROM_WAL;
			rec.incarnation = alexidx_shared->incarnation;
			rec.alt_spcoid = rec.alt_relfilenode = 0;
			return put_record(db, &rec, err);
		case XLOG_ALEXIDX_BUILD_READY:
			if (!have || !(rec.flags & AX_BUILD_FROM_WAL) || rec.state != AX_BUILD_BUILDING)
				return true;
			rec.state = AX_BUILD_READY;
			return put_record(db, &rec, err);
		case XLOG_ALEXIDX_RELOCATE:
			if (!have || !(rec.flags & AX_BUILD_FROM_WAL) ||
				(rec.spcoid == b.record.spcoid && rec.relfilenode == b.record.relfilenode))
				return true;
			rec.alt_spcoid = b.record.spcoid;
			rec.alt_relfilenode = b.record.relfilenode;
			return put_record(db, &rec, err);
	}
	return true;
}

bool
alexidx_follow(AxDb *db, XLogRecPtr upto, Size budget, AxError *err)
{
	XLogRecPtr	start = next_lsn;
	bool		more = false;

	err->status = AX_OK;
	reader_private.end_of_wal = false;
	/*
	 * XLogBeginRead() wants a record's start. A position on a page boundary (where the last
	 * record ended, or where a new sidecar began) is not one: find the first record after it.
	 */
	if (next_lsn % XLOG_BLCKSZ == 0 || !XRecOffIsValid(next_lsn))
	{
		if (XLogRecPtrIsInvalid(XLogFindNextRecord(reader, next_lsn)))
		{
			if (!reader_private.end_of_wal)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("alexidx sidecar: could not find a WAL record after %X/%X",
								LSN_FORMAT_ARGS(next_lsn))));
			return false;		/* nothing after it yet */
		}
	}
	else
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
		if (XLogRecGetRmid(reader) == RM_XLOG_ID)
		{
			uint8		info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;

			if ((info == XLOG_CHECKPOINT_ONLINE || info == XLOG_CHECKPOINT_SHUTDOWN) &&
				XLogRecGetDataLen(reader) >= sizeof(CheckPoint))
			{
				CheckPoint	cp;

				memcpy(&cp, XLogRecGetData(reader), sizeof(cp));
				pending_checkpoint_redo = Max(pending_checkpoint_redo, cp.redo);
			}
		}
		else if (XLogRecGetRmid(reader) == ALEXIDX_RMGR_ID)
		{
			uint8		info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;

			if (info == XLOG_ALEXIDX_INSERT || info == XLOG_ALEXIDX_DELETE)
				add_pending(XLogRecGetData(reader), XLogRecGetDataLen(reader),
							info == XLOG_ALEXIDX_DELETE);
			else if (info == XLOG_ALEXIDX_BUILD_ENTRIES)
			{
				xl_alexidx_entries hdr;

				memcpy(&hdr, XLogRecGetData(reader), Min(sizeof(hdr), XLogRecGetDataLen(reader)));
				if (building_from_wal(db, hdr.build_id))
					add_pending(XLogRecGetData(reader), XLogRecGetDataLen(reader), false);
			}
			else if (info == XLOG_ALEXIDX_BUILD_CREATE || info == XLOG_ALEXIDX_BUILD_READY ||
					 info == XLOG_ALEXIDX_RELOCATE)
			{
				/* the record's position is not applied yet: on failure it is read again */
				if (!apply_build_record(db, info, XLogRecGetData(reader), XLogRecGetDataLen(reader), err))
				{
					next_lsn = applied_lsn;
					npend = 0;
					npend_parts = 0;
					return false;
				}
			}
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
	XLogRecPtr	mark;

	/* a standby cannot log: everything replayed so far will do, nobody else logs there */
	if (RecoveryInProgress())
	{
		XLogRecPtr	replayed = GetXLogReplayRecPtr(NULL);

		while (next_lsn < replayed)
		{
			(void) alexidx_follow(db, replayed, (Size) 1 << 30, err);
			if (err->status != AX_OK)
				return false;
			if (next_lsn < replayed && reader_private.end_of_wal)
				break;			/* the record ending there is still being read in */
		}
		return true;
	}
	mark = alexidx_wal_log_mark();
	XLogFlush(mark);
	return alexidx_follow_to(db, mark, err);
}

bool
alexidx_follow_to(AxDb *db, XLogRecPtr target, AxError *err)
{
	err->status = AX_OK;
	while (next_lsn < target)
	{
		(void) alexidx_follow(db, target, (Size) 1 << 30, err);
		if (err->status != AX_OK)
			return false;
		if (next_lsn < target && reader_private.end_of_wal)
		{
			/*
			 * The WAL before target is flushed, so it must be readable: only a target just
			 * after a page header (a redo pointer) leaves nothing more to read before it.
			 */
			if (target - next_lsn <= SizeOfXLogLongPHD)
				break;
			err->status = AX_ERROR;
			snprintf(err->message, sizeof(err->message),
					 "the WAL up to %X/%X is flushed but could be read only to %X/%X",
					 LSN_FORMAT_ARGS(target), LSN_FORMAT_ARGS(next_lsn));
			return false;
		}
	}
	return true;
}

XLogRecPtr
alexidx_follow_checkpoint_redo(void)
{
	return checkpoint_redo;
}

void
alexidx_follow_rebuild_until(XLogRecPtr upto)
{
	rebuild_until = upto;
}

void
alexidx_follow_sync(AxDb *db, bool now)
{
	AxError		err = {0};
	TimestampTz t = GetCurrentTimestamp();

	if (applied_lsn == durable_lsn)
		return;
	if (!now && !TimestampDifferenceExceeds(last_sync, t, SYNC_INTERVAL_MS))
		return;
	ax_db_sync(db, &err);
	last_sync = t;
	if (err.status != AX_OK)
	{
		ereport(LOG, (errmsg("alexidx sidecar: %s", err.message)));
		return;
	}
	durable_lsn = applied_lsn;
	publish();

	/* checkpoints may now recycle the WAL before the durable position */
	if (MyReplicationSlot)
		move_slot(durable_lsn, false);
}

/*
 * Takes (or creates) the slot. *lost: the slot can no longer vouch for the WAL from `from`
 * (max_slot_wal_keep_size invalidated it, or it was advanced past `from` by hand); it is made
 * again then. false with *why set when the server cannot have a slot at all.
 */
static bool
take_slot(XLogRecPtr from, bool *lost, char *why, Size whylen)
{
	ReplicationSlot *slot;
	XLogRecPtr	restart;
	XLogRecPtr	invalidated;

	*lost = false;
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
	{
		ReplicationSlotCreate(ALEXIDX_SLOT_NAME, false, RS_PERSISTENT, false);
		/* a new slot keeps nothing: hold the WAL from `from` at once, not only from start */
		if (from != InvalidXLogRecPtr)
			move_slot(from, true);
	}
	else
		ReplicationSlotAcquire(ALEXIDX_SLOT_NAME, true);
	slot = MyReplicationSlot;

	SpinLockAcquire(&slot->mutex);
	restart = slot->data.restart_lsn;
	invalidated = slot->data.invalidated_at;
	SpinLockRelease(&slot->mutex);
	/* a new sidecar (from 0) needs no WAL from before: the slot is moved to it anyway */
	if (from != InvalidXLogRecPtr && (!XLogRecPtrIsInvalid(invalidated) || restart > from))
	{
		ereport(WARNING,
				(errmsg("alexidx sidecar: the replication slot \"%s\" no longer keeps the WAL from %X/%X (it was %s)",
						ALEXIDX_SLOT_NAME, LSN_FORMAT_ARGS(from),
						!XLogRecPtrIsInvalid(invalidated) ? "invalidated: raise max_slot_wal_keep_size" : "advanced by hand")));
		*lost = true;
		ReplicationSlotRelease();
		ReplicationSlotDrop(ALEXIDX_SLOT_NAME, true);
		ReplicationSlotCreate(ALEXIDX_SLOT_NAME, false, RS_PERSISTENT, false);
	}
	return true;
}

/*
 * Points the worker's slot at lsn: the WAL from there is kept. save writes the slot to disk
 * now; otherwise the next checkpoint does.
 */
static void
move_slot(XLogRecPtr lsn, bool save)
{
	ReplicationSlot *slot = MyReplicationSlot;

	SpinLockAcquire(&slot->mutex);
	slot->data.restart_lsn = lsn;
	SpinLockRelease(&slot->mutex);
	ReplicationSlotMarkDirty();
	if (save)
		ReplicationSlotSave();
	ReplicationSlotsComputeRequiredLSN();
}

/* Is the WAL segment that holds lsn in pg_wal (on any timeline)? */
static bool
wal_segment_present(XLogRecPtr lsn)
{
	XLogSegNo	segno;
	char		want[17];
	DIR		   *dir;
	struct dirent *de;
	bool		found = false;

	XLByteToSeg(lsn, segno, wal_segment_size);
	snprintf(want, sizeof(want), "%08X%08X",
			 (uint32) (segno / XLogSegmentsPerXLogId(wal_segment_size)),
			 (uint32) (segno % XLogSegmentsPerXLogId(wal_segment_size)));
	dir = AllocateDir(XLOGDIR);
	while (!found && (de = ReadDir(dir, XLOGDIR)) != NULL)
		found = strspn(de->d_name, "0123456789ABCDEF") == 24 &&
			strncmp(de->d_name + 8, want, 16) == 0;
	FreeDir(dir);
	return found;
}

/*
 * The WAL the sidecar needs is gone (a base backup copied the live sidecar of its primary, or
 * a slot lost it): every logged build it holds misses changes. They are dropped, so that their
 * indexes report that they need a REINDEX instead of answering without those changes, and
 * the sidecar starts again from here.
 */
static void
drop_builds_missing_wal(AxDb *db, XLogRecPtr from)
{
	AxError		err = {0};
	AxBuildRecord *recs = palloc(sizeof(AxBuildRecord) * 4096);
	size_t		n,
				i;
	size_t		dropped = 0;

	/* a primary's trees are complete, but nothing would keep them so across a restart; the
	 * unlogged ones, which have no WAL to miss, are simply loaded again */
	alexidx_forget_all_trees();
	for (;;)
	{
		size_t		before = dropped;

		n = ax_db_list_records(db, recs, 4096, &err);
		for (i = 0; i < n && err.status == AX_OK; i++)
			if (recs[i].persistence == RELPERSISTENCE_PERMANENT &&
				ax_db_drop_build(db, recs[i].build_id, false, &err) == AX_OK)
				dropped++;
		if (err.status != AX_OK)
			ereport(ERROR, (errmsg("alexidx sidecar: could not drop builds: %s", err.message)));
		/* the list starts again from the first record kept: stop when a round drops none */
		if (n < 4096 || dropped == before)
			break;
	}
	pfree(recs);
	ereport(dropped > 0 ? WARNING : LOG,
			(errmsg("alexidx sidecar: the WAL from %X/%X that the sidecar needs is not in pg_wal; %zu builds were dropped",
					LSN_FORMAT_ARGS(from), dropped),
			 dropped > 0 ? errhint("Every logged alexidx index that existed before must be rebuilt with REINDEX (on the primary).") : 0));
}

bool
alexidx_follow_start(AxDb *db, char *why, Size whylen)
{
	AxError		err = {0};
	uint64		lsn;
	uint32		tli;
	bool		lost;

	ax_db_applied_lsn(db, &lsn, &tli, &err);
	if (err.status != AX_OK)
	{
		snprintf(why, whylen, "could not read the sidecar's WAL position: %s", err.message);
		return false;
	}
	if (!take_slot(lsn, &lost, why, whylen))
		return false;
	if (lsn != 0 && (lost || !wal_segment_present(lsn)))
	{
		drop_builds_missing_wal(db, lsn);
		lsn = 0;
	}
	if (lsn == 0)
	{
		/*
		 * A new sidecar, or one written by alexidx 0.1.0, whose writes were all synced: it
		 * holds everything so far, and no alexidx record is older than now (every record
		 * needs a build, which this worker hands out).
		 */
		lsn = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetXLogInsertRecPtr();
		next_lsn = lsn;
		if (!apply_pending(db, &err))
		{
			snprintf(why, whylen, "could not record the sidecar's WAL position: %s", err.message);
			return false;
		}
		alexidx_follow_sync(db, true);
	}
	/*
	 * On a primary, the WAL between the sidecar's position and now may have been written by
	 * another server: this one replayed it as a standby (promoted while the worker lagged or
	 * was not running, with hot_standby = off, or started without standby.signal). That WAL's
	 * builds are in no record here, so its BUILD_CREATE records make them, as on a standby.
	 * (Builds this server logged and then dropped come back too, until the sweep removes them.)
	 */
	if (!RecoveryInProgress() && lsn < GetXLogInsertRecPtr())
		rebuild_until = Max(rebuild_until, GetXLogInsertRecPtr());
	next_lsn = applied_lsn = durable_lsn = lsn;
	pg_atomic_write_u64(&alexidx_shared->standby_trees_from, RecoveryInProgress() ? lsn : 0);
	publish();
	move_slot(lsn, true);

	reader = XLogReaderAllocate(wal_segment_size, NULL,
								XL_ROUTINE(.page_read = read_local_xlog_page_no_wait,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								&reader_private);
	if (reader == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("Failed while allocating a WAL reading processor.")));
	tree_mode = RecoveryInProgress();
	/*
	 * A worker that restarts on a standby may have applied records to the trees beyond what
	 * the sidecar kept: they load again from the sidecar. So must trees a worker left owned
	 * after a promotion it had not finished (it exited before handing them to the backends):
	 * they lack the records it had not applied yet, which this worker, no longer in tree mode,
	 * would apply to RocksDB only.
	 */
	if (tree_mode || pg_atomic_read_u32(&alexidx_shared->worker_owns_trees) != 0)
		alexidx_forget_all_trees();
	pg_atomic_write_u32(&alexidx_shared->worker_owns_trees, tree_mode ? 1 : 0);
	ereport(LOG, (errmsg("alexidx sidecar: following the WAL from %X/%X%s", LSN_FORMAT_ARGS(lsn),
						 tree_mode ? " (standby: the worker applies it to the trees too)" : "")));
	return true;
}

bool
alexidx_follow_promotion(AxDb *db, AxError *err)
{
	XLogRecPtr	boundary;
	TimestampTz start;

	if (!tree_mode || RecoveryInProgress())
		return true;
	/*
	 * Promoted: the records replayed before are in no tree yet unless this worker applied them.
	 * Apply them (to the trees too), then let backends change the trees themselves: every
	 * later record is theirs, and in their tree already.
	 */
	start = GetCurrentTimestamp();
	boundary = GetXLogReplayRecPtr(NULL);
	while (next_lsn < boundary)
	{
		(void) alexidx_follow(db, boundary, (Size) 1 << 30, err);
		if (err->status != AX_OK)
			return false;
	}
	tree_mode = false;
	pg_write_barrier();
	pg_atomic_write_u32(&alexidx_shared->worker_owns_trees, 0);
	ereport(LOG, (errmsg("alexidx sidecar: promoted; the WAL replayed up to %X/%X is in the trees (%ld ms)",
						 LSN_FORMAT_ARGS(boundary),
						 (long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
	return true;
}
