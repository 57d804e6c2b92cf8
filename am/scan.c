/*
 * scan.c: index scans (amgettuple) and bitmap scans (amgetbitmap).
 *
 * The scan keys fold into one [lo, hi] range of the int64 key space. Entries are copied out
 * of the shared tree in bounded chunks under the index's shared lock; no lock is held between
 * calls, and the next chunk resumes strictly after (or before) the last entry returned, so the
 * tree may change in between.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "utils/rel.h"

#include "alexidx.h"

#define FIRST_CHUNK 32
#define MAX_CHUNK 4096
#define BITMAP_CHUNK 4096

typedef enum ScanPosition
{
	POS_UNSTARTED,				/* nothing returned yet */
	POS_AT,						/* at `last` */
	POS_BEFORE_START,			/* ran off the low end */
	POS_AFTER_END				/* ran off the high end */
} ScanPosition;

typedef struct ScanOpaque
{
	uint64		build_id;
	Oid			keytype;
	bool		empty;			/* the keys contradict each other */
	int64		lo;
	int64		hi;
	ScanPosition pos;
	AxEntry		last;
	/* prefetched entries, in the direction of chunk_backward */
	AxEntry    *chunk;
	int			chunk_cap;
	int			chunk_len;
	int			chunk_next;
	bool		chunk_backward;
	bool		chunk_final;	/* the tree had nothing beyond this chunk */
	int			next_size;
} ScanOpaque;

IndexScanDesc
alexidx_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	ScanOpaque *so = palloc0(sizeof(ScanOpaque));

	alexidx_require_preload();
	so->build_id = alexidx_read_build_id(index);
	so->keytype = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
	so->chunk_cap = MAX_CHUNK;
	so->chunk = palloc(sizeof(AxEntry) * so->chunk_cap);
	scan->opaque = so;
	return scan;
}

void
alexidx_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	so->empty = !alexidx_keys_to_range(scan->keyData, scan->numberOfKeys, so->keytype,
									   &so->lo, &so->hi);
	so->pos = POS_UNSTARTED;
	so->chunk_len = so->chunk_next = 0;
	so->chunk_final = false;
	so->next_size = FIRST_CHUNK;

	/* read our own writes: entries still buffered in this backend become visible */
	alexidx_flush_index(scan->indexRelation);
}

/* Copies the next chunk in the given direction from the current position. */
static void
fill_chunk(IndexScanDesc scan, bool backward)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	AxIndexEntry *entry;
	const AxEntry *resume = so->pos == POS_AT ? &so->last : NULL;
	int			want = so->next_size;

	entry = alexidx_acquire(scan->indexRelation, so->build_id, LW_SHARED);
	so->chunk_len = (int) ax_tree_copy_range(entry->tree, so->lo, so->hi, resume, backward,
											 so->chunk, want);
	LWLockRelease(&entry->lock);

	so->chunk_next = 0;
	so->chunk_backward = backward;
	so->chunk_final = so->chunk_len < want;
	/* small first chunks serve LIMIT queries; later ones grow to amortise the lock */
	so->next_size = Min(so->next_size * 2, so->chunk_cap);
}

bool
alexidx_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	bool		backward = ScanDirectionIsBackward(dir);

	scan->xs_recheck = false;
	if (so->empty)
		return false;
	if ((backward && so->pos == POS_BEFORE_START) || (!backward && so->pos == POS_AFTER_END))
		return false;

	/* a change of direction drops what was prefetched for the other one */
	if (so->chunk_len > 0 && so->chunk_backward != backward)
	{
		so->chunk_len = so->chunk_next = 0;
		so->chunk_final = false;
	}

	if (so->chunk_next >= so->chunk_len)
	{
		bool		more = !(so->chunk_len > 0 && so->chunk_final);

		if (more)
		{
			CHECK_FOR_INTERRUPTS();
			fill_chunk(scan, backward);
			more = so->chunk_len > 0;
		}
		if (!more)
		{
			so->pos = backward ? POS_BEFORE_START : POS_AFTER_END;
			so->chunk_len = so->chunk_next = 0;
			so->chunk_final = false;
			return false;
		}
	}

	so->last = so->chunk[so->chunk_next++];
	so->pos = POS_AT;
	alexidx_tid_unpack(so->last.tid, &scan->xs_heaptid);
	return true;
}

int64
alexidx_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;
	ItemPointerData *tids;
	int64		ntids = 0;

	if (so->empty)
		return 0;
	tids = palloc(sizeof(ItemPointerData) * BITMAP_CHUNK);
	so->pos = POS_UNSTARTED;
	so->next_size = BITMAP_CHUNK;
	for (;;)
	{
		int			i;

		CHECK_FOR_INTERRUPTS();
		fill_chunk(scan, false);
		for (i = 0; i < so->chunk_len; i++)
			alexidx_tid_unpack(so->chunk[i].tid, &tids[i]);
		tbm_add_tuples(tbm, tids, so->chunk_len, false);
		ntids += so->chunk_len;
		if (so->chunk_final)
			break;
		so->last = so->chunk[so->chunk_len - 1];
		so->pos = POS_AT;
	}
	pfree(tids);
	return ntids;
}

void
alexidx_endscan(IndexScanDesc scan)
{
	ScanOpaque *so = (ScanOpaque *) scan->opaque;

	pfree(so->chunk);
	pfree(so);
}
