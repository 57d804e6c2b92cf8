/*
 * vacuum.c: ambulkdelete and amvacuumcleanup.
 *
 * The heap may hand a dead tuple's TID to a new row as soon as ambulkdelete returns, so the
 * dead entries leave the tree and are logged as removed (a logged index), or leave the
 * sidecar (an unlogged one), before it does. A large delete
 * also compacts the build's range so that the sidecar's files actually shrink.
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "shared/ipc.h"
#include "wal/wal.h"

#define VACUUM_CHUNK 4096

static size_t
tree_entries(Relation index, uint64 build_id)
{
	AxIndexEntry *entry = alexidx_acquire(index, build_id, LW_SHARED);
	size_t		n = ax_pair_size(entry->pair);

	LWLockRelease(&entry->lock);
	return n;
}

/* The entries VACUUM's callback called dead, and how many it kept. */
typedef struct DeadEntries
{
	AxEntry    *items;
	Size		n;
	Size		cap;
	Size		live;
} DeadEntries;

static void
dead_push(DeadEntries *d, const AxEntry *e)
{
	if (d->n == d->cap)
		d->items = alexidx_grow(d->items, &d->cap, d->n + 1, sizeof(AxEntry), 1024,
								CurrentMemoryContext);
	d->items[d->n++] = *e;
}

/*
 * Asks the callback about every entry of both trees, copied a chunk at a time under the
 * shared lock; the callback runs without it.
 */
static void
collect_dead(Relation index, uint64 build_id, IndexBulkDeleteCallback callback,
			 void *callback_state, DeadEntries *dead)
{
	AxEntry    *chunk = palloc(sizeof(AxEntry) * VACUUM_CHUNK);
	AxEntry		last;
	bool		has_last = false;
	int			which;

	/* which = 0: the values' tree, 1: the NULLs' tree */
	for (which = 0; which < 2; which++, has_last = false)
	for (;;)
	{
		AxIndexEntry *entry;
		size_t		n,
					i;

		/* honour vacuum_cost_delay like nbtree does, a chunk of entries at a time */
		vacuum_delay_point();
		entry = alexidx_acquire(index, build_id, LW_SHARED);
		n = ax_pair_copy_range(entry->pair, which == 1, AX_KEY_MIN, AX_KEY_MAX,
							   has_last ? &last : NULL, false, false, chunk, VACUUM_CHUNK);
		LWLockRelease(&entry->lock);

		for (i = 0; i < n; i++)
		{
			ItemPointerData tid;

			alexidx_tid_unpack(chunk[i].tid, &tid);
			if (callback(&tid, callback_state))
				dead_push(dead, &chunk[i]);
			else
				dead->live++;
		}
		if (n < VACUUM_CHUNK)
			break;
		last = chunk[n - 1];
		has_last = true;
	}
	pfree(chunk);
}

/*
 * Takes the dead entries out of the trees, and out of the sidecar (an unlogged index) or
 * into the WAL (a logged one), and waits until no scan can still return them.
 */
static void
remove_dead(Relation index, uint64 build_id, const DeadEntries *dead)
{
	AxIndexEntry *entry;
	AxError		err;
	Size		nvalues;
	uint64		epoch;
	bool		logged = alexidx_index_is_logged(index);

	/* without WAL, the sidecar forgets them first (the worker writes it) */
	if (!logged)
		alexidx_sidecar_write(index, build_id, dead->items, dead->n, true);
	nvalues = alexidx_split_nulls(dead->items, dead->n);
	entry = alexidx_acquire(index, build_id, LW_EXCLUSIVE);
	if (ax_pair_erase_batch(entry->pair, dead->items, nvalues, dead->n, NULL, &err) != AX_OK)
	{
		/*
		 * The tree may still hold dead TIDs (which, for a logged index, were not logged as
		 * removed). Drop it (the next use reloads it from the sidecar) and fail, so that
		 * the heap keeps the TIDs until a VACUUM succeeds.
		 */
		LWLockRelease(&entry->lock);
		alexidx_forget_tree(build_id);
		alexidx_report(&err, "could not remove dead entries from the tree", index);
	}
	if (logged)
	{
		/*
		 * Logged before the heap's own VACUUM records, which free the TIDs: in the WAL,
		 * and so in the sidecar, the entries are gone before a TID can be reused.
		 */
		START_CRIT_SECTION();
		alexidx_wal_log_entries(index, build_id, dead->items, dead->n, true);
		/* (a hot standby's replay waits here for its scans holding the removed entries) */
		alexidx_wal_log_vacuum_done(build_id);
		END_CRIT_SECTION();
	}
	epoch = alexidx_advance_scan_epoch();
	LWLockRelease(&entry->lock);
	/* index-only scans may still hold the removed entries: the TIDs are not free yet */
	alexidx_wait_for_scans(build_id, epoch);
	/*
	 * Give the space back on disk when a good share of the index went away: the worker does
	 * it once it has applied the removals, and VACUUM does not wait for that.
	 */
	if (dead->n >= 100000 || dead->n * 4 >= dead->n + dead->live)
		alexidx_post_compaction(build_id);
}

IndexBulkDeleteResult *
alexidx_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				   IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	uint64		build_id = alexidx_read_build_id(index);
	DeadEntries dead = {0};

	alexidx_require_preload();
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	collect_dead(index, build_id, callback, callback_state, &dead);
	if (dead.n > 0)
	{
		remove_dead(index, build_id, &dead);
		pfree(dead.items);
	}

	/*
	 * When this returns, the heap may give the dead TIDs to new rows: entries of speculative
	 * insertions still buffered in other backends are checked harder from now on, and scans
	 * holding dead hints from before (scan.c) drop them. The epoch moves here even when
	 * nothing was erased: entries can leave the tree in other ways (an unlogged index's
	 * failed sidecar write takes a flushed batch out again, a tree reloaded after a failure
	 * lacks what the sidecar lacked), and their TIDs are freed after this all the same.
	 */
	pg_atomic_fetch_add_u64(&alexidx_shared->bulkdeletes_finished, 1);
	(void) alexidx_advance_scan_epoch();

	stats->tuples_removed += dead.n;
	stats->num_index_tuples = dead.live;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

IndexBulkDeleteResult *
alexidx_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	alexidx_require_preload();
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = tree_entries(info->index, alexidx_read_build_id(info->index));
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	stats->estimated_count = false;
	return stats;
}
