/*
 * speculative.c: entries of INSERT ... ON CONFLICT's speculative insertions.
 *
 * A speculative heap tuple gets its index entries before the executor knows whether it
 * conflicts; when it does, the executor kills the tuple (its xmin becomes invalid) and the
 * tuple is dead to everybody at once. btree has already inserted the entry, so VACUUM finds
 * and removes it before the TID can be used again. alexidx only buffers it: VACUUM cannot
 * see it, may give the TID to another row, and a later flush would send the killed key to
 * that row. So the buffer notes which entries are speculative (a look at the tuple header
 * in aminsert) and checks them again before they reach the index:
 *   - a killed tuple shows as an invalid xmin, a dead or unused line pointer, or another
 *     transaction's tuple: its entry is dropped;
 *   - a confirmed tuple is ours and live, and stays so until we end;
 *   - an undecided one (still speculative: the flush comes from the scan that checks an
 *     exclusion constraint used as the arbiter) is ours too, and its entry must reach the
 *     tree now, for that check to be seen by concurrent inserters. If the executor kills the
 *     tuple afterwards, the entry is already in the index, where VACUUM finds and removes it
 *     before the TID is freed, as it does btree's.
 * A TID can only become another tuple's after an ambulkdelete of every index of the table
 * has finished, ours included; each one bumps a shared counter. When none has finished
 * since the entry was buffered, the tuple at its TID is the speculative one; when
 * one has, the check also requires the command id that inserted the tuple, and the caller
 * drops the entry if our own later row took the TID: one with a later buffered entry of the
 * same TID, a heap-only tuple, or one that a partial index's predicate leaves out (neither
 * of the last two has an entry of its own to tell it by).
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "executor/executor.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "alexidx.h"

/* Only heap tuples are read; other table AMs have no speculative header to look at. */
static bool
is_heap(Relation heap)
{
	return heap->rd_rel->relam == HEAP_TABLE_AM_OID;
}

/*
 * The header of the normal heap tuple at tid, with its buffer share-locked in *buffer (the
 * caller releases it with UnlockReleaseBuffer), or NULL when no tuple is stored there.
 */
static HeapTupleHeader
lock_tuple_header(Relation heap, ItemPointer tid, Buffer *buffer)
{
	Page		page;
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	ItemId		lp;

	*buffer = ReadBuffer(heap, ItemPointerGetBlockNumber(tid));
	LockBuffer(*buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(*buffer);
	if (off > PageGetMaxOffsetNumber(page))
		return NULL;
	lp = PageGetItemId(page, off);
	return ItemIdIsNormal(lp) ? (HeapTupleHeader) PageGetItem(page, lp) : NULL;
}

bool
alexidx_tuple_is_speculative(Relation heap, ItemPointer tid)
{
	Buffer		buffer;
	HeapTupleHeader htup;
	bool		speculative;

	if (heap == NULL || !is_heap(heap))
		return false;
	htup = lock_tuple_header(heap, tid, &buffer);
	speculative = htup != NULL && HeapTupleHeaderIsSpeculative(htup);
	UnlockReleaseBuffer(buffer);
	return speculative;
}

bool
alexidx_speculative_survived(Relation heap, ItemPointer tid, CommandId cid, bool maybe_reused)
{
	Buffer		buffer;
	HeapTupleHeader htup = lock_tuple_header(heap, tid, &buffer);
	bool		survived = false;

	if (htup != NULL)
	{
		TransactionId xmin = HeapTupleHeaderGetRawXmin(htup);

		/*
		 * Confirmed or still undecided; a killed tuple's xmin is invalid. Once the TID may
		 * have been freed, a tuple of ours there may be another row of the same command: a
		 * heap-only tuple (a HOT update by ON CONFLICT DO UPDATE) is one for sure, as no
		 * speculative insertion is ever heap-only.
		 */
		survived = TransactionIdIsValid(xmin) && TransactionIdIsCurrentTransactionId(xmin) &&
			(!maybe_reused || (HeapTupleHeaderGetCmin(htup) == cid &&
							   !HeapTupleHeaderIsHeapOnly(htup)));
	}
	UnlockReleaseBuffer(buffer);
	return survived;
}

/* A partial index's predicate, ready to test heap tuples of one flush. */
struct AxPredicateCheck
{
	EState	   *estate;
	ExprContext *econtext;
	ExprState  *predicate;
	TupleTableSlot *slot;
	Relation	heap;
	bool		pushed_snapshot;
};

AxPredicateCheck *
alexidx_predicate_check_begin(Relation index, Relation heap)
{
	AxPredicateCheck *pc;
	List	   *predicate = RelationGetIndexPredicate(index);

	if (predicate == NIL)
		return NULL;
	pc = palloc0(sizeof(AxPredicateCheck));
	pc->heap = heap;
	/*
	 * A flush may come at commit, where no snapshot is active: the predicate's functions (SQL
	 * or PL/pgSQL ones that cannot be inlined) need one, as deferred triggers do there.
	 */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pc->pushed_snapshot = true;
	}
	pc->estate = CreateExecutorState();
	pc->econtext = GetPerTupleExprContext(pc->estate);
	pc->slot = table_slot_create(heap, NULL);
	pc->econtext->ecxt_scantuple = pc->slot;
	pc->predicate = ExecPrepareQual(predicate, pc->estate);
	return pc;
}

bool
alexidx_predicate_check(AxPredicateCheck *pc, ItemPointer tid)
{
	bool		meets;

	if (pc == NULL)
		return true;
	meets = table_tuple_fetch_row_version(pc->heap, tid, SnapshotAny, pc->slot) &&
		ExecQual(pc->predicate, pc->econtext);
	ResetExprContext(pc->econtext);
	return meets;
}

void
alexidx_predicate_check_end(AxPredicateCheck *pc)
{
	if (pc == NULL)
		return;
	ExecDropSingleTupleTableSlot(pc->slot);
	FreeExecutorState(pc->estate);
	if (pc->pushed_snapshot)
		PopActiveSnapshot();
	pfree(pc);
}
