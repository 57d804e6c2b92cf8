/*
 * scan.c: index scans (amgettuple, with mark/restore and index-only returns) and bitmap
 * scans (amgetbitmap).
 *
 * The scan keys become a plan: ascending [lo, hi] ranges over the values' tree, then the NULL
 * entries when the keys ask for them (btree's order: NULLS LAST going forward). Each range is a
 * "segment". Entries are copied out of the shared trees in bounded chunks under the index's
 * shared lock; no lock is held between calls, and the next chunk resumes strictly after (or
 * before) the last entry returned, so the trees may change in between. A parallel index scan's
 * participants claim their chunks from one shared position instead (scan_parallel.c).
 */
#include "postgres.h"

#include "access/xlog.h"

#include "access/itup.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "alexidx.h"

#define FIRST_CHUNK 32
#define MAX_CHUNK 4096
/*
 * The prefetch works a batch of rows at a time (one call per batch, not per row: a heap in key
 * order gains nothing from it and should not pay). Rows located ahead are at most
 * alexidx.prefetch_distance (at most 128) plus a batch past the current one.
 */
#define PREFETCH_BATCH 8
#define PREFETCH_RING 256		/* a power of two above the rows located ahead */

/* A chunk row on another heap page than the row before it, and that page's buffer. */
typedef struct PrefetchRow
{
	int			row;
	int			buf_id;
} PrefetchRow;

typedef enum ScanPosition
{
	POS_UNSTARTED,				/* nothing returned yet */
	POS_AT,						/* at `last` in segment `seg` */
	POS_BEFORE_START,			/* ran off the low end */
	POS_AFTER_END				/* ran off the high end */
} ScanPosition;

/*
 * While the chunk holds returned rows (chunk_next > 0), the scan is at chunk[chunk_next - 1]
 * of segment chunk_seg, and `cur` is not kept up to date: settle_position writes it down
 * before the chunk is dropped or the position is copied, so that returning a row costs no
 * 24-byte copy.
 */
typedef struct SavedPosition
{
	ScanPosition pos;
	int			seg;
	AxEntry		last;
} SavedPosition;

typedef struct ScanOpaque
{
	uint64		build_id;
	Oid			keytype;
	AxScanPlan	plan;
	int			nsegs;			/* plan.nranges, plus one for NULLs if wanted */
	SavedPosition cur;
	SavedPosition mark;
	bool		counted;		/* this scan (since the last rescan) is in idx_scan */
	/* prefetched entries of segment chunk_seg, in the direction of chunk_backward */
	AxEntry    *chunk;
	int			chunk_cap;		/* grows with next_size: short scans allocate little */
	int			chunk_len;
	int			chunk_next;
	int			chunk_seg;
	bool		chunk_backward;
	bool		chunk_seg_done; /* the segment had nothing beyond this chunk */
	int			next_size;
	/* index-only scans only, made at their first return (most scans never need them) */
	MemoryContext tuple_cxt;	/* the returned tuple, when it is formed for each row */
	bool		itups_formed;	/* form_reusable_itups ran */
	/*
	 * Index-only scans of a by-value key: one tuple per scan, formed once, whose datum each
	 * return overwrites (btree hands out tuples from its page, formed by no one per row).
	 */
	IndexTuple	value_itup;
	char	   *value_slot;		/* where its datum sits */
	IndexTuple	null_itup;
	int64		pin;			/* scan_pins.c handle; -1: none (needs_pin decides) */
	/*
	 * Dead hints (kill_prior_tuple, as nbtree's LP_DEAD): entries of the chunk whose rows the
	 * heap found dead to every transaction, marked in the tree when the scan next takes its
	 * lock, so that later scans skip them. chunk_epoch is the scan epoch when the chunk was
	 * copied: every ambulkdelete moves it on before it returns (right after erasing entries,
	 * and at its end), and only after that can dead rows' TIDs go to new rows, so marks are
	 * made only while it has not moved (else another entry with the same key and TID could
	 * take the mark).
	 */
	bool		skip_dead;		/* this scan leaves marked entries out */
	AxEntry    *killed;
	int			nkilled;
	int			killed_cap;
	uint64		chunk_epoch;
	/*
	 * Heap prefetch (scan_prefetch.c): the chunk rows located so far, and of those the ones
	 * whose page is in shared buffers and whose tuple is still to be loaded (a queue: only a
	 * row on another page than the row before it is located, so a heap in key order queues one
	 * row per page).
	 */
	int			prefetch;		/* rows ahead at most; 0 when off for this scan */
	int			returned;		/* rows returned since the rescan, up to prefetch */
	int			pf_located;
	int			pf_due;			/* the chunk row at which the next batch is prefetched */
	uint32		pf_head;		/* queue of pf_rows, by position modulo the ring */
	uint32		pf_tail;
	PrefetchRow pf_rows[PREFETCH_RING];
	BlockNumber pf_last_blk;	/* the heap block of the row located last */
} ScanOpaque;

static void form_reusable_itups(IndexScanDesc scan);
static void mark_killed_now(ScanOpaque *so);

/*
 * Index-only scans trust the visibility map for the entries of their chunk, and scans with a
 * snapshot that is not MVCC could see a tuple that took a freed TID: both hold a pin.
 */
static bool
needs_pin(IndexScanDesc scan)
{
	return scan->xs_want_itup || scan->xs_snapshot == InvalidSnapshot ||
		!IsMVCCSnapshot(scan->xs_snapshot);
}

IndexScanDesc
alexidx_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	ScanOpaque *so = palloc0(sizeof(ScanOpaque));

	alexidx_require_preload();
	so->build_id = alexidx_read_build_id(index);
	so->keytype = alexidx_index_key_type(index);
	so->chunk_cap = FIRST_CHUNK;
	so->chunk = palloc(sizeof(AxEntry) * so->chunk_cap);
	so->plan.maxranges = 4;
	so->plan.lo = palloc(sizeof(AxKey) * so->plan.maxranges);
	so->plan.hi = palloc(sizeof(AxKey) * so->plan.maxranges);
	so->pin = -1;
	scan->xs_itupdesc = RelationGetDescr(index);
	scan->opaque = so;
	/*
	 * Read our own writes, for the workers of a parallel scan, which read only the shared tree:
	 * its leader begins the scan before it launches them, whereas its rescan (which flushes for
	 * every other scan) may come after they started (with runtime keys). Nothing can be buffered
	 * later in the query: parallel mode allows no writes.
	 */
	if (IsInParallelMode() && !IsParallelWorker())
		alexidx_flush_index(index);
	return scan;
}

/* A new chunk: nothing of it is prefetched yet (the block located last stays). */
static void
reset_prefetch(ScanOpaque *so)
{
	so->pf_located = so->pf_due = 0;
	so->pf_head = so->pf_tail = 0;
}

static void
reset_chunk(ScanOpaque *so)
{
	so->chunk_len = so->chunk_next = 0;
	so->chunk_seg_done = false;
	so->next_size = FIRST_CHUNK;
	reset_prefetch(so);
}

/* The scan holds no entries any more: VACUUM need not wait for it. */
static void
drop_pin(ScanOpaque *so)
{
	if (so->pin >= 0)
	{
		alexidx_pin_release(so->pin);
		so->pin = -1;
	}
}

/* Writes down the current position if the chunk holds it (see SavedPosition). */
static inline void
settle_position(ScanOpaque *so)
{
	if (so->chunk_next > 0)
	{
		so->cur.pos = POS_AT;
		so->cur.seg = so->chunk_seg;
		so->cur.last = so->chunk[so->chunk_next - 1];
	}
}

void
alexidx_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	mark_killed_now(so);
	/*
	 * A mark says the row is dead to every snapshot but SnapshotAny's. On a standby it would
	 * not be (a primary's idea of "dead to all" ignores the standby's snapshots), and nobody
	 * marks there: kill_prior_tuple is never set in recovery.
	 */
	so->skip_dead = !scan->xactStartedInRecovery && scan->xs_snapshot != InvalidSnapshot &&
		scan->xs_snapshot->snapshot_type != SNAPSHOT_ANY;
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	alexidx_plan_scan(scan->keyData, scan->numberOfKeys, so->keytype, &so->plan);
	so->nsegs = so->plan.nranges + (so->plan.want_nulls ? 1 : 0);
	/* SERIALIZABLE: lock the key space the plan reads, before reading it */
	alexidx_predicate_lock_scan(scan->indexRelation, scan->xs_snapshot, &so->plan);
	so->cur.pos = POS_UNSTARTED;
	so->counted = false;
	so->returned = 0;
	/*
	 * Index-only scans mostly skip the heap; temporary tables live in local buffers, which
	 * the shared mapping table does not know.
	 */
	so->prefetch = 0;
	if (alexidx_prefetch_distance > 0 && scan->heapRelation && !scan->xs_want_itup &&
		!RelationUsesLocalBuffers(scan->heapRelation))
		so->prefetch = alexidx_prefetch_distance;
	so->pf_last_blk = InvalidBlockNumber;
	so->mark.pos = POS_UNSTARTED;
	reset_chunk(so);
	drop_pin(so);

	/* read our own writes: entries still buffered in this backend become visible */
	alexidx_flush_index(scan->indexRelation);
	/* on a standby: everything replayed before the scan must be in the tree */
	alexidx_wait_for_standby_apply();
}

/* Makes room for `want` entries in the chunk (before taking the tree's lock). */
static void
reserve_chunk(ScanOpaque *so, int want)
{
	if (want <= so->chunk_cap)
		return;
	/* the old entries need not survive: the caller fills the chunk afresh */
	pfree(so->chunk);
	so->chunk = MemoryContextAlloc(GetMemoryChunkContext(so), sizeof(AxEntry) * want);
	so->chunk_cap = want;
}

/* Remembers the entry last returned, which the heap found dead to everyone. */
static void
remember_killed(ScanOpaque *so)
{
	if (so->nkilled == so->killed_cap)
	{
		so->killed_cap = so->killed_cap ? so->killed_cap * 2 : 64;
		so->killed = so->killed
			? repalloc(so->killed, sizeof(AxEntry) * so->killed_cap)
			: MemoryContextAlloc(GetMemoryChunkContext(so), sizeof(AxEntry) * so->killed_cap);
	}
	so->killed[so->nkilled++] = so->chunk[so->chunk_next - 1];
}

/*
 * Marks the remembered entries dead in the tree (its lock held, shared): unless a VACUUM
 * erased entries since the chunk was copied (see ScanOpaque), or this process still reads
 * the trees from the read-only image of the last shutdown. Either way they are forgotten.
 */
static void
mark_killed(ScanOpaque *so, AxIndexEntry *entry)
{
	if (alexidx_arena_writable() && alexidx_scan_epoch() == so->chunk_epoch)
		(void) ax_pair_mark_dead(entry->pair, so->killed, so->nkilled);
	so->nkilled = 0;
}

/* mark_killed when the scan is done with its chunk without copying another. */
static void
mark_killed_now(ScanOpaque *so)
{
	AxIndexEntry *entry;

	if (so->nkilled == 0)
		return;
	/* a tree that is not loaded has no marks to take (and loading it is not worth them) */
	entry = alexidx_acquire_if_loaded(so->build_id, LW_SHARED);
	if (entry == NULL)
	{
		so->nkilled = 0;
		return;
	}
	mark_killed(so, entry);
	LWLockRelease(&entry->lock);
}

/* Copies up to `want` entries of one segment from `resume` on, under the shared lock. */
static int
copy_segment(IndexScanDesc scan, int seg, const AxEntry *resume, bool backward,
			 AxEntry *out, int want)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	AxIndexEntry *entry;
	size_t		n;
	bool		standby_pin = false;

	if (needs_pin(scan))
	{
		so->pin = alexidx_pin_keep(so->pin, so->build_id);
		if (RecoveryInProgress())
		{
			/*
			 * On a standby (standby.c): the pin's epoch first, then the wait for the worker to
			 * apply the removals of the VACUUMs replayed so far; the chunk then has none of
			 * their entries, or the next VACUUM's replay waits for this pin.
			 */
			alexidx_pin_mark(so->pin);
			alexidx_wait_for_standby_vacuums();
			standby_pin = true;
		}
	}
	entry = alexidx_acquire(scan->indexRelation, so->build_id, LW_SHARED);
	if (so->nkilled > 0)
		mark_killed(so, entry);
	/* the pin now covers this chunk, and no longer the one before, which is all returned */
	if (so->pin >= 0 && !standby_pin)
		alexidx_pin_mark(so->pin);
	if (seg < so->plan.nranges)
		n = ax_pair_copy_range(entry->pair, false, so->plan.lo[seg], so->plan.hi[seg], resume,
							   backward, so->skip_dead, out, want);
	else
		n = ax_pair_copy_range(entry->pair, true, AX_KEY_MIN, AX_KEY_MAX, resume,
							   backward, so->skip_dead, out, want);
	so->chunk_epoch = alexidx_scan_epoch();
	LWLockRelease(&entry->lock);
	return (int) n;
}

/*
 * Copies the next entries in the given direction into the chunk: from segment seg on, strictly
 * after *resume in seg when resume is given, moving on to following segments while they have
 * nothing. Returns the segment the chunk came from, or one outside [0, nsegs) with chunk_len =
 * 0 when none had anything.
 */
static int
copy_next_chunk(IndexScanDesc scan, int seg, const AxEntry *resume, bool backward)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	int			step = backward ? -1 : 1;

	so->chunk_len = so->chunk_next = 0;
	reset_prefetch(so);
	for (; seg >= 0 && seg < so->nsegs; seg += step, resume = NULL)
	{
		int			want = so->next_size;
		int			n;

		reserve_chunk(so, want);
		n = copy_segment(scan, seg, resume, backward, so->chunk, want);

		/* small first chunks serve LIMIT queries; later ones grow to amortise the lock */
		so->next_size = Min(so->next_size * 2, MAX_CHUNK);
		if (n == 0)
			continue;
		so->chunk_len = n;
		so->chunk_seg = seg;
		so->chunk_backward = backward;
		so->chunk_seg_done = n < want;
		break;
	}
	return seg;
}

/*
 * Fills the chunk with the next entries in the given direction from the current position,
 * moving on to following segments as they run out. Leaves chunk_len = 0 at the end.
 */
static pg_noinline void
fill_chunk(IndexScanDesc scan, bool backward)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	int			step = backward ? -1 : 1;
	int			seg;
	const AxEntry *resume = NULL;

	settle_position(so);
	if (so->cur.pos == POS_AT)
	{
		seg = so->cur.seg;
		resume = &so->cur.last;
		/* the segment is known to be exhausted in this direction: skip the copy */
		if (so->chunk_seg_done && so->chunk_seg == seg && so->chunk_backward == backward)
		{
			seg += step;
			resume = NULL;
		}
	}
	else if (so->cur.pos == POS_UNSTARTED ||
			 (so->cur.pos == POS_BEFORE_START && !backward) ||
			 (so->cur.pos == POS_AFTER_END && backward))
		seg = backward ? so->nsegs - 1 : 0;
	else
		seg = -1;				/* already off this end */
	(void) copy_next_chunk(scan, seg, resume, backward);
}

/*
 * fill_chunk for a participant of a parallel scan: the next chunk after the shared position,
 * which moves past it for the others. Leaves chunk_len = 0 when every chunk is taken.
 */
static pg_noinline void
fill_chunk_parallel(IndexScanDesc scan, bool backward)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	int			seg;
	AxEntry		resume;
	bool		has_resume;

	so->chunk_len = so->chunk_next = 0;
	if (!alexidx_parallel_seize(scan, backward, so->nsegs, &seg, &resume, &has_resume))
		return;
	seg = copy_next_chunk(scan, seg, has_resume ? &resume : NULL, backward);
	if (so->chunk_len == 0)
		alexidx_parallel_release(scan, so->nsegs, seg, NULL);	/* off the end: done */
	else if (so->chunk_seg_done)
		/* a short chunk ended its segment: the next one starts the segment after */
		alexidx_parallel_release(scan, so->nsegs, seg + (backward ? -1 : 1), NULL);
	else
		alexidx_parallel_release(scan, so->nsegs, seg, &so->chunk[so->chunk_len - 1]);
}

/* Forms the scan's two reusable tuples, if its key is passed by value (or is a uuid). */
static void
form_reusable_itups(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	TupleDesc	desc = RelationGetDescr(scan->indexRelation);
	Form_pg_attribute att = TupleDescAttr(desc, 0);
	MemoryContext old;
	Datum		value = (Datum) 0;
	pg_uuid_t	zero = {{0}};
	bool		isnull;

	if (so->keytype == UUIDOID && att->attlen == UUID_LEN)
		value = UUIDPGetDatum(&zero);
	else if (!att->attbyval || att->attlen <= 0)
		return;
	old = MemoryContextSwitchTo(GetMemoryChunkContext(so));
	isnull = false;
	so->value_itup = index_form_tuple(desc, &value, &isnull);
	so->value_slot = (char *) so->value_itup + IndexInfoFindDataOffset(so->value_itup->t_info);
	isnull = true;
	so->null_itup = index_form_tuple(desc, &value, &isnull);
	MemoryContextSwitchTo(old);
}

static pg_noinline void
return_itup(IndexScanDesc scan, const AxEntry *e)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	MemoryContext old;
	Datum		value = (Datum) 0;
	bool		isnull = alexidx_entry_isnull(e);

	if (!so->itups_formed)
	{
		form_reusable_itups(scan);
		so->itups_formed = true;
	}
	if (so->value_itup)
	{
		/* the caller copies what it keeps: overwriting the last tuple is safe */
		if (isnull)
			scan->xs_itup = so->null_itup;
		else if (so->keytype == UUIDOID)
		{
			/* by reference, fixed length: the 16 bytes go where the datum's are */
			alexidx_key_to_uuid((AxKey) {e->key, e->key_lo}, (pg_uuid_t *) so->value_slot);
			scan->xs_itup = so->value_itup;
		}
		else
		{
			store_att_byval(so->value_slot, alexidx_key_to_datum((AxKey) {e->key, 0}, so->keytype),
							TupleDescAttr(RelationGetDescr(scan->indexRelation), 0)->attlen);
			scan->xs_itup = so->value_itup;
		}
		return;
	}
	if (!so->tuple_cxt)
		so->tuple_cxt = AllocSetContextCreate(GetMemoryChunkContext(so), "alexidx scan tuple",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(so->tuple_cxt);
	old = MemoryContextSwitchTo(so->tuple_cxt);
	/* a key passed by reference is made here too, and goes with the tuple */
	if (!isnull)
		value = alexidx_key_to_datum((AxKey) {e->key, e->key_lo}, so->keytype);
	scan->xs_itup = index_form_tuple(RelationGetDescr(scan->indexRelation), &value, &isnull);
	MemoryContextSwitchTo(old);
}

/*
 * Scans that visit the heap and keep its pages in shared buffers: the next rows' tuples are
 * brought into the CPU cache in two stages, the page's lines `prefetch` rows ahead and the
 * tuple half as far (by then its line pointer has arrived), each a batch of rows at a time.
 * Out of line: most calls of alexidx_gettuple do not come here, and stay short.
 *
 * The distance ramps up: no further ahead than the scan has returned rows so far (none for
 * its first batch). A scan under a small LIMIT (an ORDER BY ... LIMIT 3 in a nested loop,
 * say) would otherwise pay the buffer lookups of rows it never reads.
 */
static pg_noinline void
prefetch_ahead(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	int			ahead = Min(so->prefetch, so->returned);
	int			upto = ahead == 0 ? so->chunk_next : Min(so->chunk_len, so->chunk_next + ahead + PREFETCH_BATCH);

	/*
	 * Rows of one page come in runs when the heap is in key order. The executor keeps that
	 * page pinned and reads it front to back, which the CPU's own prefetcher follows: such
	 * rows are not located again. When the batch's last row is on the page located last,
	 * the batch is taken for part of that run without looking at each row (in a heap out of
	 * key order that is rare, and costs only the prefetch of the rows between). Rows returned
	 * before the ramp reached them are not looked up now.
	 */
	so->pf_located = Max(so->pf_located, so->chunk_next);
	if (upto > so->pf_located && alexidx_tid_block(so->chunk[upto - 1].tid) == so->pf_last_blk)
		so->pf_located = upto;
	for (; so->pf_located < upto; so->pf_located++)
	{
		uint64		packed = so->chunk[so->pf_located].tid;
		ItemPointerData tid;
		int			buf_id;

		if (alexidx_tid_block(packed) == so->pf_last_blk)
			continue;
		so->pf_last_blk = alexidx_tid_block(packed);
		alexidx_tid_unpack(packed, &tid);
		buf_id = alexidx_prefetch_locate(scan->heapRelation, &tid);
		if (buf_id >= 0)
		{
			so->pf_rows[so->pf_tail % PREFETCH_RING] = (PrefetchRow) {so->pf_located, buf_id};
			so->pf_tail++;
		}
	}
	upto = Min(so->pf_located, so->chunk_next + ahead / 2 + PREFETCH_BATCH);
	while (so->pf_head != so->pf_tail && so->pf_rows[so->pf_head % PREFETCH_RING].row < upto)
	{
		const PrefetchRow *r = &so->pf_rows[so->pf_head % PREFETCH_RING];
		ItemPointerData tid;

		alexidx_tid_unpack(so->chunk[r->row].tid, &tid);
		alexidx_prefetch_tuple(r->buf_id, &tid);
		so->pf_head++;
	}
	so->pf_due = so->chunk_next + PREFETCH_BATCH;
}

/*
 * pg_stat_user_indexes.idx_scan: one scan per rescan that reads the index, as btree counts
 * one per descent (DBAs drop indexes whose count stays 0). The executor counts the entries
 * returned (idx_tup_read) itself.
 */
static inline void
count_scan(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	if (!so->counted)
	{
		pgstat_count_index_scan(scan->indexRelation);
		so->counted = true;
	}
}

/*
 * alexidx_gettuple's work between rows of a chunk: a dead hint to remember, a change of
 * direction, the next chunk. False when the scan has no more rows. Out of line, so that the
 * call for each row stays short.
 */
static pg_noinline bool
prepare_row(IndexScanDesc scan, bool backward)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	/* the row returned last is dead to everyone: remember its entry for a dead hint */
	if (scan->kill_prior_tuple && so->chunk_next > 0 && so->skip_dead)
		remember_killed(so);

	/* a change of direction drops what was prefetched for the other one */
	if (so->chunk_len > 0 && so->chunk_backward != backward)
	{
		settle_position(so);
		reset_chunk(so);
	}

	if (so->chunk_next >= so->chunk_len)
	{
		CHECK_FOR_INTERRUPTS();
		count_scan(scan);		/* (a scan's first row always comes through here) */
		if (scan->parallel_scan)
			fill_chunk_parallel(scan, backward);
		else
			fill_chunk(scan, backward);
		if (so->chunk_len == 0)
		{
			so->cur.pos = backward ? POS_BEFORE_START : POS_AFTER_END;
			reset_chunk(so);
			/*
			 * An Append of many partitions' index-only scans keeps only the running one's pin.
			 * (A scroll cursor that turns back takes a new one.)
			 */
			drop_pin(so);
			return false;
		}
	}
	return true;
}

bool
alexidx_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	bool		backward = ScanDirectionIsBackward(dir);
	AxEntry    *e;

	scan->xs_recheck = so->plan.recheck;
	if (scan->kill_prior_tuple || so->chunk_next >= so->chunk_len || so->chunk_backward != backward)
	{
		if (!prepare_row(scan, backward))
			return false;
	}
	if (so->prefetch > 0 && so->chunk_next >= so->pf_due)
		prefetch_ahead(scan);
	if (so->returned < so->prefetch)
		so->returned++;
	e = &so->chunk[so->chunk_next++];
	alexidx_tid_unpack(e->tid, &scan->xs_heaptid);
	if (scan->xs_want_itup)
		return_itup(scan, e);
	return true;
}

void
alexidx_markpos(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	/* the planner puts no parallel scan under a merge join's inner side, which marks */
	if (scan->parallel_scan)
		elog(ERROR, "alexidx: a parallel index scan cannot mark its position");
	settle_position(so);
	so->mark = so->cur;
}

void
alexidx_restrpos(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	/* positions are values, not pointers: resuming from one is always safe */
	so->cur = so->mark;
	reset_chunk(so);
}

int64
alexidx_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * MAX_CHUNK);
	int64		ntids = 0;
	int			seg;

	count_scan(scan);
	reserve_chunk(so, MAX_CHUNK);
	for (seg = 0; seg < so->nsegs; seg++)
	{
		AxEntry		last;
		bool		has_last = false;

		for (;;)
		{
			int			n,
						i;

			CHECK_FOR_INTERRUPTS();
			n = copy_segment(scan, seg, has_last ? &last : NULL, false, so->chunk, MAX_CHUNK);
			for (i = 0; i < n; i++)
				alexidx_tid_unpack(so->chunk[i].tid, &tids[i]);
			tbm_add_tuples(tbm, tids, n, so->plan.recheck);
			ntids += n;
			if (n < MAX_CHUNK)
				break;
			last = so->chunk[n - 1];
			has_last = true;
		}
	}
	pfree(tids);
	return ntids;
}

void
alexidx_endscan(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	mark_killed_now(so);
	drop_pin(so);
	if (so->tuple_cxt)
		MemoryContextDelete(so->tuple_cxt);
	if (so->value_itup)
	{
		pfree(so->value_itup);
		pfree(so->null_itup);
	}
	pfree(so->plan.lo);
	pfree(so->plan.hi);
	pfree(so->chunk);
	if (so->killed)
		pfree(so->killed);
	pfree(so);
}

bool
alexidx_canreturn(Relation index, int attno)
{
	/* (on a standby too: standby.c) */
	return alexidx_key_returnable(alexidx_index_key_type(index));
}
