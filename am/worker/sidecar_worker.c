/*
 * sidecar_worker.c: the sidecar worker, the only process that ever opens the RocksDB
 * database under $PGDATA/pg_alexidx.
 *
 * It serves the backends' requests (group-committing every pending write into one synced
 * RocksDB write), loads trees into shared memory after a restart, drops the ranges of dead
 * builds, and sweeps periodically for builds whose index no longer exists.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "storage/bufpage.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "alexidx.h"
#include "shared/ipc.h"

static AxDb *sidecar = NULL;
/* live builds still to load after a start, so the first query finds its tree ready */
static uint64 *preload = NULL;
static int	npreload = 0;
static uint32 incarnation = 0;
static volatile sig_atomic_t shutdown_requested = false;
/* set when the main loop ends on SIGTERM: the sidecar is closed cleanly and marked so */
static bool clean_exit = false;
/* RocksDB's sequence number when this worker opened the sidecar (arena_file.c) */
static uint64 opened_at = 0;

static AxBuildRecord *list_builds(size_t *n, AxError *err);
static uint64 sweep(void);

/*
 * Builds whose runs are being rewritten without their deleted entries, a step per round of
 * the main loop, so that a large VACUUM never holds up the group commits for long.
 */
#define COMPACT_QUEUE 64
/* deletes of one build that queue its compaction (queue_due_compactions) */
#define COMPACT_AFTER_TOMBSTONES 100000
/* how often the worker looks for new WAL when nothing woke it */
#define FOLLOW_POLL_MS 50L
/* after a failed apply (a full disk), the wait before the next try */
#define APPLY_RETRY_MS 2000
#define COMPACT_STEP_ENTRIES 65536
/*
 * What each request slot has staged for its next AXR_WRITE with AXF_STAGED (a flush larger
 * than one request): kept in the worker's memory, not in shared memory.
 */
typedef struct Staged
{
	uint64		build_id;
	AxEntry    *entries;
	Size		n;
	Size		cap;
} Staged;
static Staged *staged = NULL;
static Staged *staged_for(AxRequestSlot *slot);

/* alexidx.test_worker_exit (tests): where the worker exits once, as if it failed there */
#define TEST_EXIT_BEFORE_STAGE 1	/* before it serves a staged part that is not the first */
#define TEST_EXIT_AFTER_WRITE 2		/* after a group write of inserted entries, before answering */

/* the answer to a large write whose earlier parts went with a worker that stopped */
#define LOST_STAGE_MESSAGE "the sidecar worker restarted during a large write; nothing of it was written"

/* builds to compact, each once the sidecar holds the WAL before `after` */
typedef struct QueuedCompaction
{
	uint64		build_id;
	XLogRecPtr	after;
} QueuedCompaction;
static QueuedCompaction compact_queue[COMPACT_QUEUE];
static int	ncompact = 0;
static AxEntry compact_cursor;
static bool compact_started = false;

void
alexidx_register_worker(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	/*
	 * A connection (to no database) puts the worker in the proc array with virtual transaction
	 * ids, which is how checkpoints wait for its snapshots (sidecar_snapshot.c).
	 */
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/*
	 * On a standby the worker follows the replayed WAL, so it starts once the standby is
	 * consistent (hot standby). After a crash on a primary that is when recovery finished.
	 */
	w.bgw_start_time = BgWorkerStart_ConsistentState;
	w.bgw_restart_time = 1;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "alexidx");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "alexidx_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "alexidx sidecar");
	snprintf(w.bgw_type, BGW_MAXLEN, "alexidx sidecar");
	RegisterBackgroundWorker(&w);
}

static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	shutdown_requested = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
fail_worker(const char *what, const AxError *err)
{
	snprintf(alexidx_shared->worker_error, sizeof(alexidx_shared->worker_error), "%s: %s",
			 what, err->message);
	pg_write_barrier();
	pg_atomic_write_u32(&alexidx_shared->worker_state, AXW_FAILED);
	ereport(LOG, (errmsg("alexidx sidecar: %s", alexidx_shared->worker_error)));
	proc_exit(1);
}

/*
 * A setting keeps the worker from following the WAL (wal_level, max_replication_slots): fail
 * every request with the message, and wait for the restart that changing the setting needs,
 * without exiting (the postmaster would start a worker again every second).
 */
static void
fail_worker_and_wait(const char *what)
{
	snprintf(alexidx_shared->worker_error, sizeof(alexidx_shared->worker_error), "%s", what);
	pg_write_barrier();
	pg_atomic_write_u32(&alexidx_shared->worker_state, AXW_FAILED);
	ereport(LOG, (errmsg("alexidx sidecar: %s", what)));
	while (!shutdown_requested)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	clean_exit = true;
	proc_exit(1);
}

static void
close_sidecar(int code, Datum arg)
{
	AxError		err = {0};

	/*
	 * The postmaster starts a new worker (every exit is nonzero): requests wait for it, as
	 * for a worker that is starting. A worker that failed keeps its message for them.
	 */
	alexidx_snapshots_stop();
	alexidx_shared->worker_latch = NULL;
	pg_write_barrier();
	if (pg_atomic_read_u32(&alexidx_shared->worker_state) != AXW_FAILED)
		pg_atomic_write_u32(&alexidx_shared->worker_state, AXW_STARTING);
	if (sidecar)
	{
		if (clean_exit)
			alexidx_follow_sync(sidecar, true);
		/* A clean exit leaves a marker: the next start then knows no crash happened. */
		ax_db_close(sidecar, clean_exit, clean_exit ? &alexidx_shared->sidecar_closed_at : NULL, &err);
		/* safe either way: without the marker the next start assumes a crash */
		if (err.status != AX_OK)
			ereport(LOG, (errmsg("alexidx sidecar: %s", err.message)));
		sidecar = NULL;
	}
}

/* ---------- request handling ---------- */

static void
finish(AxRequestSlot *slot, AxStatus status, const char *message)
{
	slot->status = status;
	strlcpy(slot->message, message ? message : "", sizeof(slot->message));
	pg_write_barrier();
	pg_atomic_write_u32(&slot->state, AXS_DONE);
	if (slot->latch)
		SetLatch(slot->latch);
}

static void
finish_err(AxRequestSlot *slot, const AxError *err)
{
	finish(slot, err->status, err->status == AX_OK ? NULL : err->message);
}

static AxStatus
set_record_state(uint64 build_id, uint32 state, AxError *err)
{
	AxBuildRecord rec;

	if (ax_db_get_record(sidecar, build_id, &rec, err) != AX_OK)
		return err->status;
	rec.state = state;
	return ax_db_put_record(sidecar, &rec, err);
}

static void
drop_build(uint64 build_id, AxError *err)
{
	alexidx_forget_tree(build_id);
	ax_db_drop_build(sidecar, build_id, false, err);
}

/*
 * Loads a build's trees from the sidecar into shared memory, unless they are loaded. When
 * the arena cannot take them, *wanted (if given) gets about how much they need.
 */
static void
load_into_registry(uint64 build_id, AxError *err, Size *wanted)
{
	AxTreePair *pair;
	size_t		entries = 0;
	AxBuildRecord rec;
	AxTreeParams params = {0};
	bool		loaded;

	err->status = AX_OK;
	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	loaded = hash_search(alexidx_registry, &build_id, HASH_FIND, NULL) != NULL;
	LWLockRelease(alexidx_shared->registry_lock);
	if (loaded)
		return;

	/*
	 * The tree may have been loaded before and forgotten, with changes logged meanwhile that
	 * the sidecar has not applied yet: apply everything logged so far first. Nothing can log a
	 * change of this build from now until the tree is registered: changes are logged under
	 * the tree's lock.
	 */
	if (!alexidx_follow_catch_up(sidecar, err))
		return;

	/* the same parameters as the build that made the tree (ambuild's alexidx_new_pair) */
	ax_db_get_record(sidecar, build_id, &rec, err);
	if (err->status != AX_OK)
		return;
	/*
	 * An index only ever names a build that finished before its creation committed. A
	 * sidecar restored from a snapshot can still hold such a build unfinished (its CREATE
	 * INDEX spanned the snapshot, and its entries came in files, not in the WAL after it):
	 * it has only part of the entries, and must never answer.
	 */
	if (rec.state != AX_BUILD_READY)
	{
		err->status = AX_NOTFOUND;
		snprintf(err->message, sizeof(err->message),
				 "Build " UINT64_FORMAT " never finished in this sidecar (a restored snapshot caught its CREATE INDEX in progress).",
				 build_id);
		return;
	}
	params.max_data_node_slots = rec.max_node_slots;
	params.wide = (rec.flags & AX_BUILD_WIDE_KEYS) != 0;
	pair = ax_pair_create(alexidx_shared->arena, &params, err);
	if (pair == NULL)
		return;
	ax_db_load_tree(sidecar, build_id, pair, &entries, err);
	if (err->status != AX_OK)
	{
		alexidx_destroy_pair(pair);
		if (err->status == AX_NOMEM && wanted)
			*wanted = entries * (params.wide ? ALEXIDX_ARENA_BYTES_PER_WIDE_ENTRY : ALEXIDX_ARENA_BYTES_PER_ENTRY);
		return;
	}
	if (!alexidx_register_pair(build_id, rec.dboid, pair))
	{
		err->status = AX_ERROR;
		snprintf(err->message, sizeof(err->message),
				 "too many alexidx indexes are loaded; raise alexidx.max_indexes");
	}
}

static void
load_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	Size		wanted = 0;

	load_into_registry(slot->build_id, &err, &wanted);
	slot->result = wanted;
	finish_err(slot, &err);
}

/*
 * The index of the build now has the slot's location too. Until the sweep sees which file
 * survives (the old one is unlinked if the move commits, the new one if it aborts), the
 * record names both.
 */
static void
relocate_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	AxBuildRecord rec;
	const AxBuildRecord *to = &slot->record;

	if (ax_db_get_record(sidecar, slot->build_id, &rec, &err) == AX_OK &&
		rec.dboid == to->dboid && rec.backend == to->backend &&
		!(rec.spcoid == to->spcoid && rec.relfilenode == to->relfilenode))
	{
		rec.alt_spcoid = to->spcoid;
		rec.alt_relfilenode = to->relfilenode;
		ax_db_put_record(sidecar, &rec, &err);
	}
	else if (err.status == AX_OK && rec.dboid != to->dboid)
	{
		err.status = AX_CORRUPT;
		snprintf(err.message, sizeof(err.message),
				 "build " UINT64_FORMAT " belongs to database %u, not %u",
				 slot->build_id, rec.dboid, to->dboid);
	}
	finish_err(slot, &err);
}

/*
 * CREATE DATABASE dst TEMPLATE src copied every index file of src, metapages included, while
 * src could not change. Each build of src gets a copy for dst that answers to the id the
 * copied metapage names, until the copy's first use writes its own id there. The copies
 * start with the source's location (same relfilenode; the sweep finds the file if dst has
 * another default tablespace).
 *
 * Builds that already name dst belong to a database dropped before dst took its OID (no live
 * database has it). They go first: copies made for that one from the same template answer to
 * the same ids and would be taken for dst's, and the sweep, which finds dst's files naming
 * those ids, would keep them for good.
 */
static void
copy_database(AxRequestSlot *slot)
{
	AxError		err = {0};
	Oid			src = (Oid) slot->build_id;
	Oid			dst = slot->record.dboid;
	size_t		n,
				i;
	uint64		copied = 0;
	AxBuildRecord *recs;

	/* src cannot change now, but the sidecar may not have applied all of its WAL yet */
	if (!alexidx_follow_catch_up(sidecar, &err))
	{
		finish_err(slot, &err);
		return;
	}
	recs = list_builds(&n, &err);
	for (i = 0; i < n && err.status == AX_OK; i++)
		if (recs[i].dboid == dst)
		{
			ereport(LOG, (errmsg("alexidx sidecar: dropping build " UINT64_FORMAT ", left by a dropped database whose OID %u a new database takes",
								 recs[i].build_id, dst)));
			drop_build(recs[i].build_id, &err);
		}
	for (i = 0; i < n && err.status == AX_OK; i++)
	{
		AxBuildRecord to = recs[i];
		uint64		meta_build;
		bool		moved;

		/*
		 * Where the index is now: an ALTER INDEX or ALTER DATABASE ... SET TABLESPACE since
		 * the last sweep left the record naming the old place (the sweep settles it).
		 */
		if (recs[i].dboid != src || recs[i].state != AX_BUILD_READY ||
			!alexidx_locate_build(&to, &moved) || !alexidx_read_location_build(&to, &meta_build))
			continue;
		to.build_id = ax_db_new_build_id(sidecar, &err);
		to.dboid = dst;
		to.alt_spcoid = to.alt_relfilenode = 0;
		to.incarnation = incarnation;
		to.origin_build_id = meta_build;
		to.creating_xid = slot->record.creating_xid;
		if (err.status == AX_OK)
			ax_db_copy_build(sidecar, recs[i].build_id, &to, &err);
		if (err.status == AX_OK)
			copied++;
	}
	pfree(recs);
	slot->result = copied;
	finish_err(slot, &err);
}

/* The build of the index in record.dboid whose metapage names build_id. */
static void
resolve_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	AxBuildRecord rec = {0};
	Oid			db = slot->record.dboid;
	size_t		n,
				i;
	AxBuildRecord *recs;

	ax_db_get_record(sidecar, slot->build_id, &rec, &err);
	if (err.status == AX_OK && rec.dboid == db)
	{
		slot->result = slot->build_id;
		slot->record = rec;
		finish(slot, AX_OK, NULL);
		return;
	}
	if (err.status != AX_OK && err.status != AX_NOTFOUND)
	{
		finish_err(slot, &err);
		return;
	}
	recs = list_builds(&n, &err);
	for (i = 0; i < n; i++)
		if (recs[i].dboid == db && recs[i].origin_build_id == slot->build_id &&
			recs[i].state == AX_BUILD_READY)
			break;
	if (err.status != AX_OK)
		finish_err(slot, &err);
	else if (i < n)
	{
		slot->result = recs[i].build_id;
		slot->record = recs[i];
		finish(slot, AX_OK, NULL);
	}
	else
	{
		char		message[256];

		if (rec.build_id == slot->build_id)
			snprintf(message, sizeof(message),
					 "The index's metapage names build " UINT64_FORMAT " of database %u, and no copy of it was made for database %u.",
					 slot->build_id, rec.dboid, db);
		else
			snprintf(message, sizeof(message),
					 "The sidecar has no record of build " UINT64_FORMAT ", which the index's metapage names.",
					 slot->build_id);
		finish(slot, AX_NOTFOUND, message);
	}
	pfree(recs);
}

/* The entries of a request: inline, or in its DSM segment (attached into *seg). */
static const AxEntry *
request_entries(AxRequestSlot *slot, dsm_segment **seg)
{
	*seg = NULL;
	if (slot->dsm == DSM_HANDLE_INVALID)
		return slot->inline_entries;
	*seg = dsm_attach(slot->dsm);
	return *seg ? dsm_segment_address(*seg) : NULL;
}

/* One round of a test setting's hold: a short sleep that serves interrupts and reloads. */
static void
test_hold_round(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

static void
test_exit_point(int point)
{
	/* 3: exit where 2 does, and the next worker holds what it takes over (take_over_orphans) */
	int			setting = alexidx_test_worker_exit == 3 ? TEST_EXIT_AFTER_WRITE : alexidx_test_worker_exit;

	if (setting != point ||
		pg_atomic_exchange_u32(&alexidx_shared->test_exit_fired, 1) != 0)
		return;
	ereport(LOG, (errmsg("alexidx sidecar: exiting at test exit point %d (alexidx.test_worker_exit)", point)));
	proc_exit(1);
}

/*
 * Takes a pending request (see AxSlotState); false if its backend took it back first. From
 * here the backend waits for the answer: a worker that stops before it answers leaves the
 * request to the next one (take_over_orphans).
 */
static bool
take(AxRequestSlot *slot)
{
	uint32		expected = AXS_PENDING;

	/*
	 * The request is read only once taken (the exchange is a full barrier): a backend may take
	 * a pending request back and fill the slot anew at any moment before.
	 */
	return pg_atomic_compare_exchange_u32(&slot->state, &expected, AXS_TAKEN);
}

/*
 * Puts first, deletes last, each in arrival order. Two requests of one write can touch the same
 * entry only when one of them is a stopped worker's write served again: its transaction failed
 * and a VACUUM found the entry dead meanwhile. The put must not outlive that delete, or the
 * entry would come back with the next load of the tree, on a TID that VACUUM then frees.
 */
static void
put_before_delete(AxWritePart *parts, int nparts)
{
	AxWritePart *sorted = palloc(sizeof(AxWritePart) * nparts);
	int			n = 0,
				i;

	for (i = 0; i < nparts; i++)
		if (!parts[i].is_delete)
			sorted[n++] = parts[i];
	for (i = 0; i < nparts; i++)
		if (parts[i].is_delete)
			sorted[n++] = parts[i];
	memcpy(parts, sorted, sizeof(AxWritePart) * nparts);
	pfree(sorted);
}

/* A taken request this pass does not serve: pending again, for the next pass. */
static void
put_back(AxRequestSlot *slot)
{
	pg_atomic_write_u32(&slot->state, AXS_PENDING);
}

/*
 * Requests a worker before this one took and did not answer (AXS_TAKEN at the start). They
 * stay taken, so that no backend can take them back: the stopped worker may have written them
 * already. The first round serves them as if new (writes and deletes are idempotent, and
 * puts go before deletes in a group write; a staged write's lost part is settled by
 * settle_lost_stage).
 */
static bool *orphans = NULL;

static void
take_over_orphans(void)
{
	int			i,
				n = 0;

	orphans = MemoryContextAllocZero(TopMemoryContext, sizeof(bool) * alexidx_shared->nslots);
	for (i = 0; i < alexidx_shared->nslots; i++)
		if (pg_atomic_read_u32(&alexidx_shared->slots[i].state) == AXS_TAKEN)
		{
			orphans[i] = true;
			n++;
		}
	if (n == 0)
		return;
	ereport(LOG, (errmsg("alexidx sidecar: serving %d request(s) that a stopped worker had taken", n)));
	/* alexidx.test_worker_exit = 3 (tests): hold them until the setting changes */
	while (alexidx_test_worker_exit == 3 && !shutdown_requested)
		test_hold_round();
}

/* The slot's request is this worker's to serve: an orphan, or a pending one it takes. */
static bool
claim(AxRequestSlot *slot, int i)
{
	if (orphans[i])
	{
		orphans[i] = false;
		return true;
	}
	return pg_atomic_read_u32(&slot->state) == AXS_PENDING && take(slot);
}

/*
 * A write whose staged part this worker does not have: the worker that staged it stopped. If
 * that worker wrote it before it stopped, its mark is in the sidecar and the write is done;
 * otherwise nothing of it was written, and the backend takes its entries back.
 */
static void
settle_lost_stage(AxRequestSlot *slot)
{
	AxError		err = {0};
	uint64		written;

	staged_for(slot)->n = 0;
	if (ax_db_written_request(sidecar, (uint32) (slot - alexidx_shared->slots), &written, &err) != AX_OK)
		finish_err(slot, &err);
	else if (written == slot->request)
		finish(slot, AX_OK, NULL);
	else
		finish(slot, AX_ERROR, LOST_STAGE_MESSAGE);
}

static Staged *
staged_for(AxRequestSlot *slot)
{
	if (staged == NULL)
		staged = MemoryContextAllocZero(TopMemoryContext, sizeof(Staged) * alexidx_shared->nslots);
	return &staged[slot - alexidx_shared->slots];
}

static void
stage_entries(AxRequestSlot *slot)
{
	Staged	   *st = staged_for(slot);
	dsm_segment *seg;
	const AxEntry *entries = request_entries(slot, &seg);

	if (entries == NULL)
	{
		finish(slot, AX_ERROR, "request abandoned");
		return;
	}
	if (!(slot->flags & AXF_FIRST_CHUNK))
		test_exit_point(TEST_EXIT_BEFORE_STAGE);
	if (slot->flags & AXF_FIRST_CHUNK)
		st->n = 0;
	else if (st->build_id != slot->build_id || st->n != slot->staged_before)
	{
		/* the parts before this one went with a worker that stopped: the write is lost whole */
		st->n = 0;
		if (seg)
			dsm_detach(seg);
		finish(slot, AX_ERROR, LOST_STAGE_MESSAGE);
		return;
	}
	st->build_id = slot->build_id;
	st->entries = alexidx_grow(st->entries, &st->cap, st->n + slot->nentries, sizeof(AxEntry), 0,
							   TopMemoryContext);
	memcpy(st->entries + st->n, entries, slot->nentries * sizeof(AxEntry));
	st->n += slot->nentries;
	ereport(DEBUG1, (errmsg("alexidx sidecar: stage of %u entries for build " UINT64_FORMAT,
							slot->nentries, slot->build_id)));
	if (seg)
		dsm_detach(seg);
	finish(slot, AX_OK, NULL);
}

/*
 * A full queue drops the request: compaction only gives space back sooner. A build already
 * queued waits for the later position too; one whose compaction has begun is queued again
 * behind it (the steps done already may have passed the new removals' keys).
 */
static void
queue_compaction(uint64 build_id, XLogRecPtr after)
{
	int			i;

	for (i = 0; i < ncompact; i++)
		if (compact_queue[i].build_id == build_id && (i > 0 || !compact_started))
		{
			compact_queue[i].after = Max(compact_queue[i].after, after);
			return;
		}
	if (ncompact < COMPACT_QUEUE)
	{
		compact_queue[ncompact].build_id = build_id;
		compact_queue[ncompact].after = after;
		ncompact++;
	}
}

/*
 * Builds whose deletes since the worker started (or since their last compaction was queued)
 * reached COMPACT_AFTER_TOMBSTONES: a steady churn of VACUUMs each too small to ask for a
 * compaction (vacuum.c) would otherwise pile the deletes' tombstones up in the sidecar for
 * good, on standbys (where no VACUUM runs) too. Their removals are applied already.
 */
static void
queue_due_compactions(void)
{
	uint64		builds[COMPACT_QUEUE];
	size_t		n = ax_db_compactions_due(sidecar, COMPACT_AFTER_TOMBSTONES, builds, COMPACT_QUEUE);
	size_t		i;

	for (i = 0; i < n; i++)
		queue_compaction(builds[i], InvalidXLogRecPtr);
}

/*
 * One step of the first queued compaction, once the sidecar holds the removals behind it;
 * true while there is more to do now.
 */
static bool
compact_some(void)
{
	AxError		err = {0};
	AxBuildRecord rec;
	bool		done = false;

	if (ncompact == 0)
		return false;
	if (!compact_started &&
		(XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn) < compact_queue[0].after)
		return false;			/* the WAL it waits for is applied in a later round */
	/* the record says how the build's keys are laid out (a dropped build: nothing to do) */
	if (ax_db_get_record(sidecar, compact_queue[0].build_id, &rec, &err) == AX_OK)
		ax_db_compact_step(sidecar, compact_queue[0].build_id, (rec.flags & AX_BUILD_WIDE_KEYS) != 0,
						   &compact_cursor, &compact_started, COMPACT_STEP_ENTRIES, &done, &err);
	if (err.status == AX_NOTFOUND)
		done = true;
	else if (err.status != AX_OK)
	{
		ereport(LOG, (errmsg("alexidx sidecar: could not compact build " UINT64_FORMAT ": %s",
							 compact_queue[0].build_id, err.message)));
		done = true;
	}
	ereport(DEBUG1, (errmsg("alexidx sidecar: compaction step of build " UINT64_FORMAT,
							compact_queue[0].build_id)));
	if (done)
	{
		ereport(DEBUG1, (errmsg("alexidx sidecar: compaction of build " UINT64_FORMAT " done",
								compact_queue[0].build_id)));
		memmove(compact_queue, compact_queue + 1, (ncompact - 1) * sizeof(QueuedCompaction));
		ncompact--;
		compact_started = false;
	}
	return ncompact > 0;
}

static void
check_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	AxIndexEntry *entry;
	uint64		n = 0;
	bool		worker_owns = pg_atomic_read_u32(&alexidx_shared->worker_owns_trees) != 0;

	/*
	 * On a standby only this worker changes the trees, applying the replayed WAL to the tree
	 * and the sidecar alike (under the tree's exclusive lock): it catches up first, and what it
	 * then compares cannot move meanwhile.
	 */
	if (worker_owns && !alexidx_follow_catch_up(sidecar, &err))
	{
		finish_err(slot, &err);
		return;
	}
	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	entry = hash_search(alexidx_registry, &slot->build_id, HASH_FIND, NULL);
	if (entry)
		LWLockAcquire(&entry->lock, LW_SHARED);
	LWLockRelease(alexidx_shared->registry_lock);
	if (entry == NULL)
	{
		finish(slot, AX_NOTFOUND, "the tree is not loaded");
		return;
	}
	/*
	 * On a primary, with the tree locked, nothing more of it can be logged: the sidecar
	 * catches up to it.
	 */
	if (!worker_owns && !alexidx_follow_catch_up(sidecar, &err))
	{
		LWLockRelease(&entry->lock);
		finish_err(slot, &err);
		return;
	}
	ax_db_compare_tree(sidecar, slot->build_id, entry->pair, &n, &err);
	LWLockRelease(&entry->lock);
	slot->result = n;
	finish_err(slot, &err);
}

/* A new build's record, in state building, under a fresh build id. */
static void
new_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	AxBuildRecord rec = slot->record;

	rec.build_id = ax_db_new_build_id(sidecar, &err);
	if (err.status == AX_OK)
	{
		rec.state = AX_BUILD_BUILDING;
		rec.incarnation = incarnation;
		ax_db_put_record(sidecar, &rec, &err);
	}
	slot->result = rec.build_id;
	finish_err(slot, &err);
}

/* Ingests a build's SST files (slot->path.N.sst) and marks the build ready. */
static void
ingest_build(AxRequestSlot *slot)
{
	AxError		err = {0};
	int			nfiles = (int) slot->nentries;
	const char **files = palloc(sizeof(char *) * nfiles);
	int			i;

	for (i = 0; i < nfiles; i++)
		files[i] = psprintf("%s.%d.sst", slot->path, i);
	if (ax_db_ingest(sidecar, files, nfiles, &err) == AX_OK)
		set_record_state(slot->build_id, AX_BUILD_READY, &err);
	finish_err(slot, &err);
}

static void
mark_build_ready(AxRequestSlot *slot)
{
	AxError		err = {0};

	set_record_state(slot->build_id, AX_BUILD_READY, &err);
	finish_err(slot, &err);
}

static void
build_size(AxRequestSlot *slot)
{
	AxError		err = {0};

	ax_db_build_bytes(sidecar, slot->build_id, &slot->result, &err);
	finish_err(slot, &err);
}

/* One page of build records after slot->build_id: the records come in build id order. */
static void
list_page(AxRequestSlot *slot)
{
	AxError		err = {0};
	size_t		n,
				i,
				copied = 0;
	AxBuildRecord *recs = list_builds(&n, &err);
	AxBuildRecord *page = (AxBuildRecord *) slot->inline_entries;

	for (i = 0; i < n && copied < AX_LIST_MAX; i++)
		if (recs[i].build_id > slot->build_id)
			page[copied++] = recs[i];
	slot->result = copied;
	pfree(recs);
	finish_err(slot, &err);
}

static void
serve_one(AxRequestSlot *slot)
{
	switch (slot->type)
	{
		case AXR_NEW_BUILD:
			new_build(slot);
			break;
		case AXR_INGEST:
			ingest_build(slot);
			break;
		case AXR_BUILD_READY:
			mark_build_ready(slot);
			break;
		case AXR_LOAD:
			load_build(slot);
			break;
		case AXR_SIZE:
			build_size(slot);
			break;
		case AXR_CHECK:
			check_build(slot);
			break;
		case AXR_RELOCATE:
			relocate_build(slot);
			break;
		case AXR_STAGE:
			stage_entries(slot);
			break;
		case AXR_COPY_DATABASE:
			copy_database(slot);
			break;
		case AXR_RESOLVE:
			resolve_build(slot);
			break;
		case AXR_LIST:
			list_page(slot);
			break;
		case AXR_SWEEP:
			slot->result = sweep();
			finish(slot, AX_OK, NULL);
			break;
		default:
			finish(slot, AX_ERROR, "unknown request");
			break;
	}
}

/*
 * Serves every pending request. All pending writes and deletes, from however many backends,
 * go to RocksDB as one synced write: that is the group commit.
 */
static void
serve_requests(void)
{
	int			nslots = alexidx_shared->nslots;
	/* a slot gives one part, or two when it staged entries before */
	AxWritePart *parts = palloc(sizeof(AxWritePart) * nslots * 2);
	AxRequestSlot **owners = palloc(sizeof(AxRequestSlot *) * nslots);
	dsm_segment **segs = palloc0(sizeof(dsm_segment *) * nslots);
	/* staged writes note their request in the same batch (settle_lost_stage reads it back) */
	AxWriteMark *marks = palloc(sizeof(AxWriteMark) * nslots);
	bool	   *later = palloc0(sizeof(bool) * nslots);
	int			nparts = 0;
	int			nowners = 0;
	int			nmarks = 0;
	int			i;

	for (i = 0; i < nslots; i++)
	{
		AxRequestSlot *slot = &alexidx_shared->slots[i];

		if (!claim(slot, i))
			continue;
		if (slot->type != AXR_WRITE && slot->type != AXR_DELETE)
		{
			later[i] = true;	/* served one by one below */
			continue;
		}
		if (slot->flags & AXF_STAGED)
		{
			Staged	   *st = staged_for(slot);

			if (st->n == 0 || st->build_id != slot->build_id || st->n != slot->staged_before)
			{
				settle_lost_stage(slot);
				continue;
			}
			marks[nmarks].slot = (uint32) i;
			marks[nmarks++].request = slot->request;
			parts[nparts].build_id = slot->build_id;
			parts[nparts].is_delete = false;
			parts[nparts].wide = (slot->flags & AXF_WIDE) != 0;
			parts[nparts].entries = st->entries;
			parts[nparts++].n = st->n;
		}
		parts[nparts].build_id = slot->build_id;
		parts[nparts].is_delete = slot->type == AXR_DELETE;
		parts[nparts].wide = (slot->flags & AXF_WIDE) != 0;
		parts[nparts].n = slot->nentries;
		parts[nparts].entries = request_entries(slot, &segs[nowners]);
		if (parts[nparts].entries == NULL)
		{
			/* the requester gave up (its transaction failed) */
			if (slot->flags & AXF_STAGED)
			{
				nparts--;
				nmarks--;
			}
			finish(slot, AX_ERROR, "request abandoned");
			continue;
		}
		ereport(DEBUG1, (errmsg("alexidx sidecar: %s of %u entries for build " UINT64_FORMAT "%s",
								slot->type == AXR_DELETE ? "delete" : "write", slot->nentries,
								slot->build_id, (slot->flags & AXF_STAGED) ? " after staged ones" : "")));
		nparts++;
		owners[nowners++] = slot;
	}

	if (nparts > 0)
	{
		AxError		err = {0};

		put_before_delete(parts, nparts);
		ax_db_write(sidecar, parts, nparts, marks, nmarks, &err);
		for (i = 0; i < nowners; i++)
			if (owners[i]->type == AXR_WRITE)
				test_exit_point(TEST_EXIT_AFTER_WRITE);
		for (i = 0; i < nowners; i++)
		{
			if (segs[i])
				dsm_detach(segs[i]);
			if (owners[i]->flags & AXF_STAGED)
			{
				Staged	   *st = staged_for(owners[i]);

				st->n = 0;
				if (st->cap > 4 * AX_REQUEST_MAX_ENTRIES)
				{
					/* a huge flush is rare: give its memory back */
					pfree(st->entries);
					st->entries = NULL;
					st->cap = 0;
				}
			}
			finish_err(owners[i], &err);
		}
	}

	for (i = 0; i < nslots; i++)
	{
		AxRequestSlot *slot = &alexidx_shared->slots[i];

		if (later[i])
			serve_one(slot);
		else if (pg_atomic_read_u32(&slot->state) == AXS_PENDING && take(slot))
		{
			if (slot->type == AXR_WRITE || slot->type == AXR_DELETE)
				put_back(slot); /* arrived after the group write: next round */
			else
				serve_one(slot);
		}
	}

	pfree(parts);
	pfree(owners);
	pfree(segs);
	pfree(marks);
	pfree(later);
}

/*
 * The drop and compaction notices (alexidx_post_drop, alexidx_post_compaction). A compaction
 * is only queued here: the removals that call for it must be in the sidecar before it is
 * rewritten, so it waits in the queue until the worker has followed the WAL past them
 * (compact_some).
 */
static void
serve_notices(void)
{
	uint64		builds[AX_MAX_DROP_NOTICES];
	uint64		compact_builds[AX_MAX_COMPACT_NOTICES];
	XLogRecPtr	compact_after[AX_MAX_COMPACT_NOTICES];
	int			n,
				ncompact_notices,
				i;

	SpinLockAcquire(&alexidx_shared->notice_mutex);
	n = alexidx_shared->nnotices;
	memcpy(builds, alexidx_shared->notices, n * sizeof(uint64));
	alexidx_shared->nnotices = 0;
	ncompact_notices = alexidx_shared->ncompact_notices;
	memcpy(compact_builds, alexidx_shared->compact_builds, ncompact_notices * sizeof(uint64));
	memcpy(compact_after, alexidx_shared->compact_after, ncompact_notices * sizeof(XLogRecPtr));
	alexidx_shared->ncompact_notices = 0;
	SpinLockRelease(&alexidx_shared->notice_mutex);

	for (i = 0; i < ncompact_notices; i++)
		queue_compaction(compact_builds[i], compact_after[i]);

	for (i = 0; i < n; i++)
	{
		AxError		err = {0};

		drop_build(builds[i], &err);
		if (err.status != AX_OK)
			ereport(LOG, (errmsg("alexidx sidecar: could not drop build " UINT64_FORMAT ": %s",
								 builds[i], err.message)));
	}
}

/* ---------- the orphan sweep ---------- */

/* Every build record in the sidecar, palloc'd; *n gets the count. */
static AxBuildRecord *
list_builds(size_t *n, AxError *err)
{
	size_t		max = (size_t) alexidx_max_indexes * 4 + 1024;

	for (;;)
	{
		AxBuildRecord *recs = palloc(sizeof(AxBuildRecord) * max);

		*n = ax_db_list_records(sidecar, recs, max, err);
		if (*n < max)
			return recs;
		pfree(recs);
		max *= 2;
	}
}


/*
 * Is the build still the live content of its index? A finished build is while its index's
 * file holds it (build_location.c, which also follows the index when it moves; the record
 * is stored again then). An unfinished one is while the worker that saw it start runs.
 */
static bool
build_is_live(AxBuildRecord *rec)
{
	bool		changed;
	bool		settled;
	bool		live;

	/*
	 * A build that outlived a crash never finished. One that a standby makes from the WAL
	 * finishes when the primary's does, whatever happened to this server meanwhile.
	 */
	if (rec->state == AX_BUILD_BUILDING && (rec->flags & AX_BUILD_FROM_WAL))
		return alexidx_creator_state(rec->creating_xid) != AX_CREATOR_ABORTED;
	if (rec->state == AX_BUILD_BUILDING)
		return rec->incarnation == incarnation;
	switch (alexidx_creator_state(rec->creating_xid))
	{
		case AX_CREATOR_RUNNING:
			return true;
		case AX_CREATOR_ABORTED:
			return false;
		case AX_CREATOR_COMMITTED:
			break;
	}
	/*
	 * Recovery removes an unlogged index's main fork and makes it again from the init fork
	 * only at its end: until then the file says nothing about the build.
	 */
	if (rec->persistence == 'u' && RecoveryInProgress())
		return true;
	settled = rec->creating_xid != 0;
	rec->creating_xid = 0;		/* committed: no need to ask again */
	live = alexidx_locate_build(rec, &changed);
	changed |= settled;
	if (changed)
	{
		AxError		err = {0};

		ax_db_put_record(sidecar, rec, &err);
		if (err.status != AX_OK)
			ereport(LOG, (errmsg("alexidx sidecar: could not store the new location of build " UINT64_FORMAT ": %s",
								 rec->build_id, err.message)));
	}
	return live;
}

/* Queues every live, ready build for loading in the background. */
static void
plan_preload(void)
{
	AxError		err = {0};
	size_t		n,
				i;
	AxBuildRecord *recs = list_builds(&n, &err);
	preload = MemoryContextAlloc(TopMemoryContext, sizeof(uint64) * Max(n, 1));
	npreload = 0;
	for (i = 0; i < n && npreload < alexidx_max_indexes; i++)
		if (recs[i].state == AX_BUILD_READY && build_is_live(&recs[i]) &&
			!alexidx_loaded_in_database(recs[i].build_id, recs[i].dboid))
			preload[npreload++] = recs[i].build_id;
	pfree(recs);
}

/* Loads one queued build; a failure is only logged: the first query retries and reports it. */
static void
preload_one(void)
{
	AxError		err = {0};
	uint64		build_id = preload[--npreload];
	TimestampTz start = GetCurrentTimestamp();

	load_into_registry(build_id, &err, NULL);
	if (err.status != AX_OK)
		ereport(LOG, (errmsg("alexidx sidecar: could not preload build " UINT64_FORMAT ": %s",
							 build_id, err.message)));
	else
		ereport(LOG, (errmsg("alexidx sidecar: preloaded build " UINT64_FORMAT " in %ld ms",
							 build_id,
							 (long) (TimestampDifferenceMilliseconds(start, GetCurrentTimestamp())))));
}

/* Drops every build whose index is gone; returns how many. */
static uint64
sweep(void)
{
	uint64		dropped = 0;
	AxError		err = {0};
	size_t		n,
				i;
	AxBuildRecord *recs = list_builds(&n, &err);

	if (err.status != AX_OK)
		ereport(LOG, (errmsg("alexidx sidecar: the orphan sweep could not list the builds: %s",
							 err.message)));
	for (i = 0; i < n; i++)
	{
		if (build_is_live(&recs[i]))
			continue;
		ereport(DEBUG1, (errmsg("alexidx sidecar: dropping orphaned build " UINT64_FORMAT,
								recs[i].build_id)));
		memset(&err, 0, sizeof(err));
		drop_build(recs[i].build_id, &err);
		if (err.status != AX_OK)
			ereport(LOG, (errmsg("alexidx sidecar: could not drop orphaned build " UINT64_FORMAT ": %s",
								 recs[i].build_id, err.message)));
		else
			dropped++;
	}
	pfree(recs);
	return dropped;
}

/* After a crash, unlogged indexes must come back empty, like their tables. */
static void
reset_unlogged_builds(void)
{
	AxError		err = {0};
	size_t		n,
				i;
	AxBuildRecord *recs = list_builds(&n, &err);

	for (i = 0; i < n; i++)
		if (recs[i].persistence == 'u')
			ax_db_drop_build(sidecar, recs[i].build_id, true, &err);
	pfree(recs);
}

static void
prepare_directory(const char *dir)
{
	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
		ereport(FATAL, (errcode_for_file_access(),
						errmsg("could not create directory \"%s\": %m", dir)));
	/* only the server's user may read index data */
	if (chmod(dir, S_IRWXU) < 0)
		ereport(LOG, (errcode_for_file_access(), errmsg("could not chmod \"%s\": %m", dir)));
}

/*
 * Opens the sidecar (a damaged one is moved aside and an empty one starts); a sidecar that
 * is new or came from a snapshot first makes the builds the WAL since its position logs.
 * Returns whether it is the live sidecar of before (neither restored nor set aside).
 */
static bool
open_sidecar(void)
{
	AxError		err = {0};
	bool		restored;
	char		set_aside[MAXPGPATH + 256];

	sidecar = alexidx_open_sidecar(set_aside, sizeof(set_aside), &restored, &err);
	if (sidecar == NULL)
		fail_worker("could not open the sidecar database", &err);
	/* before any write of this run: the arena image must find the sidecar it was made with */
	opened_at = ax_db_sequence(sidecar);
	alexidx_shared->sidecar_closed_at = 0;
	if (set_aside[0])
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alexidx sidecar was damaged and has been moved aside to %s", set_aside),
				 errhint("Every alexidx index must be rebuilt with REINDEX.")));
	before_shmem_exit(close_sidecar, 0);
	if (restored || set_aside[0])
	{
		/*
		 * Metapages may name builds this sidecar never heard of (made after its snapshot, or
		 * lost with it): new builds take ids above any handed out before, which came from a
		 * counter far below the clock's microseconds. The WAL after the sidecar's position
		 * makes the builds it logs.
		 */
		XLogRecPtr	end = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetXLogInsertRecPtr();

		ax_db_raise_build_ids(sidecar, (uint64) GetCurrentTimestamp(), &err);
		if (err.status != AX_OK)
			fail_worker("could not start", &err);
		alexidx_follow_rebuild_until(end);
	}
	return !restored && set_aside[0] == '\0';
}

/*
 * Shared memory outlives a worker that exits alone (SIGTERM, an error): the server did
 * not crash, its unlogged relations were not reset, and backends may still be building
 * under the current incarnation. Only a fresh shared memory (server start, crash restart)
 * begins a new incarnation and, after a crash or in recovery, resets the unlogged builds:
 * PostgreSQL empties unlogged relations after any recovery, even one that starts from a
 * clean shutdown (a primary restarted as a standby, an archive recovery). Returns whether
 * the previous shutdown was clean.
 */
static bool
start_incarnation(void)
{
	AxError		err = {0};
	bool		clean;

	if (ax_db_take_clean_marker(sidecar, &clean, &err) == AX_OK)
	{
		if (alexidx_shared->incarnation != 0)
			incarnation = alexidx_shared->incarnation;
		else
			incarnation = ax_db_next_incarnation(sidecar, &err);
	}
	if (err.status != AX_OK)
		fail_worker("could not start", &err);
	if ((!clean || RecoveryInProgress()) && alexidx_shared->incarnation == 0)
		reset_unlogged_builds();

	alexidx_shared->incarnation = incarnation;
	return clean;
}

/*
 * Before any index answers, the sidecar takes every change logged up to now (after a crash,
 * the WAL since its durable position). Backends wait meanwhile: a tree is only loaded from
 * a sidecar that has caught up.
 */
static void
catch_up_at_start(void)
{
	AxError		err = {0};
	char		why[512];
	XLogRecPtr	target = RecoveryInProgress() ? GetXLogReplayRecPtr(NULL) : GetFlushRecPtr(NULL);
	TimestampTz start = GetCurrentTimestamp();
	XLogRecPtr	from;

	if (!alexidx_follow_start(sidecar, why, sizeof(why)))
		fail_worker_and_wait(why);
	from = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn);
	while (alexidx_follow(sidecar, target, (Size) 64 << 20, &err))
		CHECK_FOR_INTERRUPTS();
	if (err.status != AX_OK)
		fail_worker("could not apply the WAL to the sidecar", &err);
	alexidx_follow_sync(sidecar, true);
	ereport(LOG, (errmsg("alexidx sidecar: applied the WAL from %X/%X to %X/%X in %ld ms",
						 LSN_FORMAT_ARGS(from), LSN_FORMAT_ARGS(target),
						 (long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
}

/*
 * Applies the next stretch of WAL, unless held or waiting to retry after a failure;
 * returns whether more is waiting.
 */
static bool
apply_some_wal(TimestampTz *retry_at)
{
	AxError		err = {0};
	bool		more_wal;

	if (alexidx_hold_sidecar_apply || GetCurrentTimestamp() < *retry_at)
		return false;
	more_wal = alexidx_follow(sidecar, InvalidXLogRecPtr, (Size) 16 << 20, &err);
	if (err.status != AX_OK)
	{
		/*
		 * A full disk, say. Commits go on (the WAL is the log of record, and the slot
		 * keeps it): try again in a while, and the sidecar catches up then.
		 */
		ereport(LOG, (errmsg("alexidx sidecar: could not apply the WAL, retrying in %d s: %s",
							 APPLY_RETRY_MS / 1000, err.message)));
		*retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), APPLY_RETRY_MS);
		more_wal = false;
	}
	return more_wal;
}

/* alexidx.hold_arena_copy (tests): keeps the kept trees in the image until it is turned off. */
static void
hold_arena_copy(void)
{
	while (alexidx_hold_arena_copy && alexidx_arena_copy_pending() && !shutdown_requested)
		test_hold_round();
	if (shutdown_requested)
	{
		clean_exit = true;
		proc_exit(1);
	}
}

/*
 * RocksDB keeps its table files open, outside PostgreSQL's count of file descriptors, and each
 * build ingests at least one: a thousand indexes used up the common limit of 1024 open files,
 * after which the sidecar failed every write and RocksDB ended the worker on an assertion. The
 * worker raises its soft limit to the hard one, and lets RocksDB keep open what PostgreSQL's
 * own files (max_safe_fds) leave of it, less a margin for RocksDB's other files; RocksDB
 * closes the table files it used least beyond that, and opens them again when read.
 */
#define OPEN_FILES_WANTED 65536

static void
budget_open_files(void)
{
	struct rlimit rl;
	long		budget = 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
	{
		rlim_t		want = rl.rlim_max == RLIM_INFINITY ? OPEN_FILES_WANTED : Min(rl.rlim_max, OPEN_FILES_WANTED);

		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		{
			struct rlimit raised = {want, rl.rlim_max};

			if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
				rl.rlim_cur = want;
		}
		budget = Max(budget, (long) Min(rl.rlim_cur, OPEN_FILES_WANTED) - max_safe_fds - 128);
	}
	ax_db_set_max_open_files((int) budget);
	ereport(DEBUG1, (errmsg("alexidx sidecar: RocksDB may keep %ld table files open", budget)));
}

void
alexidx_worker_main(Datum arg)
{
	AxError		err = {0};
	TimestampTz last_sweep = 0;
	TimestampTz apply_retry_at = 0;
	bool		clean;
	bool		sidecar_is_live;

	pqsignal(SIGTERM, handle_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* nothing of the worker's is a query to cancel */
	pqsignal(SIGINT, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "alexidx sidecar");

	pg_atomic_write_u32(&alexidx_shared->worker_state, AXW_STARTING);
	alexidx_am_sidecar_worker = true;
	/*
	 * A worker before this one took the kept trees and died before it copied them: copy them
	 * first (it needs nothing from the sidecar), since anything below may change the arena.
	 */
	hold_arena_copy();
	alexidx_arena_copy_kept_trees();
	prepare_directory(alexidx_sidecar_dir());
	prepare_directory(alexidx_ingest_dir());

	budget_open_files();
	sidecar_is_live = open_sidecar();
	clean = start_incarnation();
	take_over_orphans();
	alexidx_shared->worker_latch = MyLatch;
	catch_up_at_start();
	/*
	 * On a primary after a clean restart, the trees are there already: they answer from the
	 * image at once, and take changes once copied into memory.
	 */
	alexidx_arena_take_kept_trees(sidecar, opened_at, sidecar_is_live && !RecoveryInProgress());
	hold_arena_copy();
	alexidx_arena_copy_kept_trees();
	pg_write_barrier();
	pg_atomic_write_u32(&alexidx_shared->worker_state, AXW_RUNNING);
	ereport(LOG, (errmsg("alexidx sidecar started (incarnation %u, previous shutdown %s)",
						 incarnation, clean ? "clean" : "not clean")));

	plan_preload();

	while (!shutdown_requested)
	{
		TimestampTz now;
		bool		more_wal;

		if (!alexidx_follow_promotion(sidecar, &err))
			fail_worker("could not apply the WAL replayed before the promotion", &err);
		/* drops first: a notice posted before a request is then handled before it */
		serve_notices();
		serve_requests();
		more_wal = apply_some_wal(&apply_retry_at);
		queue_due_compactions();
		alexidx_follow_sync(sidecar, false);
		/* a checkpoint may be waiting for the snapshot of its redo pointer */
		alexidx_snapshots_step(sidecar);
		if (more_wal)
			SetLatch(MyLatch);
		if (npreload > 0)
		{
			/* one build per round, so requests are served in between */
			preload_one();
			SetLatch(MyLatch);
		}
		else if (compact_some())
			SetLatch(MyLatch);	/* the next step after the next round of requests */

		now = GetCurrentTimestamp();
		if (TimestampDifferenceExceeds(last_sweep, now, alexidx_sweep_interval * 1000))
		{
			sweep();
			last_sweep = now;
		}

		/* new WAL wakes nobody: look for it often (the apply lag stays well under 1 s) */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 FOLLOW_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/* procsignal barriers (DROP DATABASE waits for every process to absorb one) */
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* turning the test exit point off arms it again */
		if (alexidx_test_worker_exit == 0)
			pg_atomic_write_u32(&alexidx_shared->test_exit_fired, 0);
	}

	/*
	 * SIGTERM: at server shutdown, or a DBA's kill. Exit 0 would unregister the worker for
	 * good; exit 1 makes the postmaster start a new one unless the server is shutting down.
	 */
	clean_exit = true;
	proc_exit(1);
}
