/*
 * check_heap.c: alexidx_check's look from the index to the heap.
 *
 * Every entry's TID must hold a row (dead or alive: VACUUM removes the entries of dead rows
 * later) whose key is the entry's, and that the index's predicate admits. The check from the
 * heap to the index cannot see an entry that points to the wrong row: an index that had
 * shared its build with another database passed it. The caller holds a ShareLock on the
 * heap, so that VACUUM cannot free TIDs under the check.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "alexidx.h"

#define CHECK_CHUNK 4096
#define CHECK_REPORTS 10

typedef struct EntryCheck
{
	Relation	index;
	Relation	heap;
	IndexInfo  *info;
	EState	   *estate;
	ExprState  *predicate;
	TupleTableSlot *slot;
	IndexFetchTableData *fetch;
	Oid			keytype;
	int64		wrong;
} EntryCheck;

static void
report(EntryCheck *c, const AxEntry *e, const char *what)
{
	ItemPointerData tid;

	c->wrong++;
	if (c->wrong > CHECK_REPORTS)
		return;
	alexidx_tid_unpack(e->tid, &tid);
	ereport(WARNING,
			(errmsg("alexidx index \"%s\" has an entry for %s that points to (%u,%u), %s",
					RelationGetRelationName(c->index),
					alexidx_entry_isnull(e) ? "NULL" :
					psprintf("key %s", alexidx_key_string((AxKey) {e->key, e->key_lo}, c->keytype)),
					ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid), what)));
}

/* No tuple at tid for SnapshotAny: a dead line pointer (VACUUM comes) or nothing at all. */
static bool
line_pointer_is_dead(Relation heap, ItemPointer tid)
{
	Buffer		buffer;
	Page		page;
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	bool		dead = false;

	if (heap->rd_rel->relam != HEAP_TABLE_AM_OID)
		return true;			/* nothing more to learn from other table AMs */
	buffer = ReadBuffer(heap, ItemPointerGetBlockNumber(tid));
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	if (off <= PageGetMaxOffsetNumber(page))
		dead = ItemIdIsDead(PageGetItemId(page, off));
	UnlockReleaseBuffer(buffer);
	return dead;
}

static void
check_entry(EntryCheck *c, const AxEntry *e, BlockNumber nblocks)
{
	ItemPointerData tid;
	bool		call_again = false;
	bool		all_dead = false;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ExprContext *econtext = GetPerTupleExprContext(c->estate);

	alexidx_tid_unpack(e->tid, &tid);
	if (ItemPointerGetBlockNumber(&tid) >= nblocks)
	{
		report(c, e, "past the end of the table");
		return;
	}
	if (!table_index_fetch_tuple(c->fetch, &tid, SnapshotAny, c->slot, &call_again, &all_dead))
	{
		if (!line_pointer_is_dead(c->heap, &tid))
			report(c, e, "an unused item: the table may give that TID to another row");
		return;
	}
	ResetExprContext(econtext);
	econtext->ecxt_scantuple = c->slot;
	if (c->predicate && !ExecQual(c->predicate, econtext))
	{
		report(c, e, "a row that the index's predicate excludes");
		return;
	}
	FormIndexDatum(c->info, c->slot, c->estate, values, isnull);
	if (isnull[0] != alexidx_entry_isnull(e))
		report(c, e, isnull[0] ? "a row whose key is NULL" : "a row whose key is not NULL");
	else if (!isnull[0])
	{
		AxKey		k = alexidx_datum_to_key(values[0], c->keytype);

		if (k.key != e->key || k.key_lo != e->key_lo)
			report(c, e, psprintf("a row with key %s", alexidx_key_string(k, c->keytype)));
	}
}

int64
alexidx_check_entries_in_heap(Relation index, Relation heap, uint64 build_id)
{
	EntryCheck	c = {0};
	AxEntry    *chunk = palloc(sizeof(AxEntry) * CHECK_CHUNK);
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	int64		checked = 0;
	int			which;

	c.index = index;
	c.heap = heap;
	c.info = BuildIndexInfo(index);
	c.estate = CreateExecutorState();
	c.predicate = c.info->ii_Predicate ? ExecPrepareQual(c.info->ii_Predicate, c.estate) : NULL;
	c.slot = table_slot_create(heap, NULL);
	c.fetch = table_index_fetch_begin(heap);
	c.keytype = alexidx_index_key_type(index);

	/* which = 0: the values' tree, 1: the NULLs' tree */
	for (which = 0; which < 2; which++)
	{
		AxEntry		last;
		bool		has_last = false;

		for (;;)
		{
			AxIndexEntry *entry;
			size_t		n,
						i;

			CHECK_FOR_INTERRUPTS();
			entry = alexidx_acquire(index, build_id, LW_SHARED);
			n = ax_pair_copy_range(entry->pair, which == 1, AX_KEY_MIN, AX_KEY_MAX, has_last ? &last : NULL, false, false,
								   chunk, CHECK_CHUNK);
			LWLockRelease(&entry->lock);
			for (i = 0; i < n; i++)
				check_entry(&c, &chunk[i], nblocks);
			checked += n;
			if (n < CHECK_CHUNK)
				break;
			last = chunk[n - 1];
			has_last = true;
		}
	}
	table_index_fetch_end(c.fetch);
	ExecDropSingleTupleTableSlot(c.slot);
	FreeExecutorState(c.estate);
	pfree(chunk);
	if (c.wrong > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("alexidx index \"%s\" has " INT64_FORMAT " of " INT64_FORMAT " entries that do not match their rows",
						RelationGetRelationName(index), c.wrong, checked),
				 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	return checked;
}
