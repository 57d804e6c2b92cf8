/*
 * insert.c: aminsert and the per-backend insert buffers.
 *
 * aminsert only appends (key, TID) to this backend's buffer for the index. A buffer is
 * flushed as one batch, first durably to the sidecar, then into the shared tree with one
 * insert_batch:
 *   - when it holds alexidx.insert_buffer entries (or the index's insert_buffer option);
 *   - before this backend scans the index (a transaction reads its own writes);
 *   - at PRE_COMMIT and PRE_PREPARE, so a committed row is always in the index.
 *
 * This file also tracks the builds a transaction creates and the alexidx indexes it drops,
 * so that abort and commit can tell the sidecar worker which builds are dead.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "alexidx.h"
#include "shared/ipc.h"
#include "wal/wal.h"

typedef struct Segment
{
	SubTransactionId subid;
	Size		start;
} Segment;

/* A buffered entry of a speculative insertion (speculative.c), checked before a flush. */
typedef struct SpecNote
{
	Size		pos;			/* in entries */
	CommandId	cid;			/* the command that inserted the tuple */
	uint64		bulkdeletes;	/* alexidx_shared->bulkdeletes_finished then */
} SpecNote;

typedef struct InsertBuffer
{
	Oid			indexoid;		/* hash key */
	uint64		build_id;
	Oid			heapoid;
	Oid			keytype;
	int			limit;
	AxEntry    *entries;
	Size		n;
	Size		cap;
	/* where each subtransaction's entries start, to drop them if it aborts */
	Segment    *segs;
	int			nsegs;
	Size		segcap;
	SpecNote   *specs;
	int			nspecs;
	Size		speccap;
} InsertBuffer;

/* A build this transaction created, or the build of an index it dropped. */
typedef struct BuildNote
{
	uint64		build_id;
	SubTransactionId subid;
	bool		dropped;		/* true: dropped index; false: created build */
} BuildNote;

static HTAB *buffers = NULL;
static bool flushing = false;	/* settling a buffer's speculative entries */
/* a write of this transaction to the sidecar was left unsettled: it must not commit */
static bool transaction_doomed = false;
/* alexidx indexes that an ALTER touched in this transaction: they may have moved */
static Oid *altered = NULL;
static Size naltered = 0;
static Size alteredcap = 0;
static BuildNote *notes = NULL;
static Size nnotes = 0;
static Size notecap = 0;
static object_access_hook_type prev_object_access_hook = NULL;

static void settle_old_entries(Relation index, InsertBuffer *buf, bool keep_current);

/* Forgets the entries of subtransaction subid and of later ones (its children). */
static void
drop_entries_from(InsertBuffer *buf, SubTransactionId subid)
{
	int			i;

	for (i = 0; i < buf->nsegs; i++)
		if (buf->segs[i].subid >= subid)
		{
			buf->n = buf->segs[i].start;
			buf->nsegs = i;
			while (buf->nspecs > 0 && buf->specs[buf->nspecs - 1].pos >= buf->n)
				buf->nspecs--;
			return;
		}
}

static int
cmp_tid_pos(const void *a, const void *b)
{
	const AxEntry *x = (const AxEntry *) a;
	const AxEntry *y = (const AxEntry *) b;

	/* entries here hold (tid, position) in (tid, key) */
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Is there an entry after pos with the same TID? by_tid: (tid, pos) pairs sorted. */
static bool
later_entry_has_tid(const AxEntry *by_tid, Size n, uint64 tid, Size pos)
{
	Size		lo = 0,
				hi = n;

	/* first pair > (tid, pos) */
	while (lo < hi)
	{
		Size		mid = lo + (hi - lo) / 2;

		if (by_tid[mid].tid < tid || (by_tid[mid].tid == tid && (Size) by_tid[mid].key <= pos))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && by_tid[lo].tid == tid;
}

/*
 * Drops the entries of speculative insertions whose tuples were killed (speculative.c),
 * keeping the subtransaction segments right. Runs before every flush.
 */
static void
settle_speculative(Relation index, InsertBuffer *buf)
{
	Relation	heap;
	uint64		finished = pg_atomic_read_u64(&alexidx_shared->bulkdeletes_finished);
	bool	   *drop;
	AxEntry    *by_tid = NULL;
	AxPredicateCheck *predicate = NULL;
	bool		predicate_ready = false;
	Size		i,
				kept;
	int			s,
				seg;

	if (buf->nspecs == 0)
		return;
	pg_read_barrier();
	heap = relation_open(buf->heapoid, NoLock);
	drop = palloc_extended(Max(buf->n, 1) * sizeof(bool), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (s = 0; s < buf->nspecs; s++)
	{
		SpecNote   *note = &buf->specs[s];
		bool		maybe_reused = note->bulkdeletes != finished;
		ItemPointerData tid;

		alexidx_tid_unpack(buf->entries[note->pos].tid, &tid);
		if (!alexidx_speculative_survived(heap, &tid, note->cid, maybe_reused))
			drop[note->pos] = true;
		else if (maybe_reused)
		{
			if (by_tid == NULL)
			{
				by_tid = palloc_extended(buf->n * sizeof(AxEntry), MCXT_ALLOC_HUGE);
				for (i = 0; i < buf->n; i++)
				{
					by_tid[i].tid = buf->entries[i].tid;
					by_tid[i].key = (int64) i;
				}
				qsort(by_tid, buf->n, sizeof(AxEntry), cmp_tid_pos);
			}
			if (!predicate_ready)
			{
				predicate = alexidx_predicate_check_begin(index, heap);
				predicate_ready = true;
			}
			if (later_entry_has_tid(by_tid, buf->n, buf->entries[note->pos].tid, note->pos) ||
				!alexidx_predicate_check(predicate, &tid))
				drop[note->pos] = true;
		}
	}
	alexidx_predicate_check_end(predicate);
	relation_close(heap, NoLock);

	/* compact, moving each segment's start along */
	kept = 0;
	seg = 0;
	for (i = 0; i < buf->n; i++)
	{
		while (seg < buf->nsegs && buf->segs[seg].start == i)
			buf->segs[seg++].start = kept;
		if (!drop[i])
			buf->entries[kept++] = buf->entries[i];
	}
	while (seg < buf->nsegs)
		buf->segs[seg++].start = kept;
	buf->n = kept;
	buf->nspecs = 0;
	pfree(drop);
	if (by_tid)
		pfree(by_tid);
}

static InsertBuffer *
get_buffer(Relation index)
{
	InsertBuffer *buf;
	bool		found;
	AlexOptions *opts = (AlexOptions *) index->rd_options;
	uint64		build_id = alexidx_read_build_id(index);
	Oid			oid = RelationGetRelid(index);

	buf = hash_search(buffers, &oid, HASH_ENTER, &found);
	if (found && buf->build_id != build_id)
	{
		/*
		 * REINDEX or TRUNCATE gave the index a new build (or a rolled-back one gave the old
		 * build back). The buffered entries belong to the build they were made for.
		 */
		settle_old_entries(index, buf, false);
		buf->build_id = build_id;
	}
	if (!found)
	{
		buf->build_id = build_id;
		buf->keytype = alexidx_index_key_type(index);
		buf->cap = 64;
		buf->n = 0;
		buf->entries = MemoryContextAlloc(TopMemoryContext, buf->cap * sizeof(AxEntry));
		buf->segcap = 4;
		buf->nsegs = 0;
		buf->segs = MemoryContextAlloc(TopMemoryContext, buf->segcap * sizeof(Segment));
		buf->heapoid = index->rd_index->indrelid;
		buf->speccap = 0;
		buf->nspecs = 0;
		buf->specs = NULL;
	}
	buf->limit = (opts && opts->insert_buffer > 0) ? opts->insert_buffer : alexidx_insert_buffer;
	return buf;
}

static void
free_buffer(InsertBuffer *buf)
{
	pfree(buf->entries);
	pfree(buf->segs);
	if (buf->specs)
		pfree(buf->specs);
	hash_search(buffers, &buf->indexoid, HASH_REMOVE, NULL);
}

static void
flush_buffer(Relation index, InsertBuffer *buf)
{
	AxIndexEntry *entry;
	AxError		err;
	AxStatus	st;
	Size		nvalues;
	bool		reclaimed;

	if (flushing)
		elog(ERROR, "alexidx: an insert buffer was flushed while another was being settled");
	flushing = true;
	PG_TRY();
	{
		settle_speculative(index, buf);
	}
	PG_FINALLY();
	{
		flushing = false;
	}
	PG_END_TRY();
	if (buf->n == 0)
		return;

	/*
	 * The tree first: a full arena is the likely failure, and a batch that only partly fits is
	 * taken out again, so that nothing of it is logged or sent to the sidecar.
	 */
	nvalues = alexidx_split_nulls(buf->entries, buf->n);
	for (reclaimed = false;; reclaimed = true)
	{
		entry = alexidx_acquire(index, buf->build_id, LW_EXCLUSIVE);
		st = ax_pair_insert_batch(entry->pair, buf->entries, nvalues, buf->n, &err);
		if (st != AX_OK)
		{
			AxError		erase_err;

			if (ax_pair_erase_batch(entry->pair, buf->entries, nvalues, buf->n, NULL, &erase_err) != AX_OK)
			{
				/* the tree may hold entries that were never logged: reload it from the sidecar */
				LWLockRelease(&entry->lock);
				alexidx_forget_tree(buf->build_id);
				alexidx_report(&erase_err, "could not take a failed batch out of the tree", index);
			}
		}
		else if (alexidx_index_is_logged(index))
		{
			/*
			 * A logged index's change goes into PostgreSQL's WAL, under the tree's lock (so a
			 * tree loaded from the sidecar after catching up misses nothing), and the commit
			 * record's flush makes it durable: no wait for the sidecar worker. Like any
			 * WAL-logged page change, it happens in a critical section once the tree took it.
			 */
			START_CRIT_SECTION();
			alexidx_wal_log_entries(index, buf->build_id, buf->entries, buf->n, false);
			END_CRIT_SECTION();
		}
		LWLockRelease(&entry->lock);

		/*
		 * Trees that the next orphan sweep would drop (alexidx_arena_reclaim) may be what
		 * kept the batch out, which is out of the tree again: one more try after a sweep now.
		 * Only then: a logged flush that the tree takes never waits for the worker.
		 */
		if (st != AX_NOMEM || reclaimed || !alexidx_arena_reclaim())
			break;
	}
	if (st == AX_NOMEM)
		alexidx_report_arena_full(index, buf->n * alexidx_arena_bytes_per_entry(index));
	if (st != AX_OK)
		alexidx_report(&err, "could not insert into the tree", index);

	/* unlogged and temporary indexes have no WAL: the worker writes their sidecar */
	if (!alexidx_index_is_logged(index))
	{
		PG_TRY();
		{
			alexidx_sidecar_write(index, buf->build_id, buf->entries, buf->n, false);
		}
		PG_CATCH();
		{
			/*
			 * The sidecar does not have them: take them out of the tree again. If even that
			 * fails, drop the tree, which the next use reloads from the sidecar.
			 */
			AxError		erase_err;
			bool		erased;

			if (alexidx_sidecar_write_unsettled)
			{
				/*
				 * The worker took the write and is gone: the sidecar may have the entries. They
				 * stay in the tree, where VACUUM finds them once their rows are dead, as it finds
				 * them in a sidecar that the tree is loaded from again later. Their rows must
				 * die: the transaction cannot commit (xact_callback), and the entries are not
				 * flushed again, which would put them into the tree twice.
				 */
				transaction_doomed = true;
				alexidx_sidecar_write_unsettled = false;
				buf->n = 0;
				buf->nsegs = 0;
				buf->nspecs = 0;
				PG_RE_THROW();
			}
			HOLD_INTERRUPTS();
			entry = alexidx_acquire(index, buf->build_id, LW_EXCLUSIVE);
			erased = ax_pair_erase_batch(entry->pair, buf->entries, nvalues, buf->n, NULL,
										 &erase_err) == AX_OK;
			LWLockRelease(&entry->lock);
			if (!erased)
				alexidx_forget_tree(buf->build_id);
			RESUME_INTERRUPTS();
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	buf->n = 0;
	buf->nsegs = 0;
	buf->nspecs = 0;
}

/*
 * The index is about to leave the build the buffer is for: a TRUNCATE or REINDEX gave it a
 * new build, or it is being dropped. Entries that an enclosing or earlier subtransaction made
 * must still reach that build: if the subtransaction that moves the index away rolls back,
 * the build is the index again and those rows may commit.
 *
 * After a new build, the current subtransaction's entries (and its children's) are dropped:
 * they roll back with the new build, or it makes them moot. A dropped index keeps them all:
 * ALTER COLUMN TYPE drops an index and hands its storage, build included, to a new one.
 */
static void
settle_old_entries(Relation index, InsertBuffer *buf, bool keep_current)
{
	if (!keep_current)
		drop_entries_from(buf, GetCurrentSubTransactionId());
	flush_buffer(index, buf);
	buf->n = 0;
	buf->nsegs = 0;
	buf->nspecs = 0;
}

bool
alexidx_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
			   Relation heapRel, IndexUniqueCheck checkUnique,
			   bool indexUnchanged, IndexInfo *indexInfo)
{
	InsertBuffer *buf;
	SubTransactionId subid = GetCurrentSubTransactionId();
	bool		speculative;

	alexidx_require_preload();
	if (flushing)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alexidx: cannot insert into an alexidx index from a partial index's predicate"),
				 errdetail("It was being checked for rows this transaction inserted into \"%s\" or another alexidx index.",
						   RelationGetRelationName(index))));
	buf = get_buffer(index);
	if (buf->nsegs == 0 || buf->segs[buf->nsegs - 1].subid != subid)
	{
		if (buf->nsegs == buf->segcap)
			buf->segs = alexidx_grow(buf->segs, &buf->segcap, buf->nsegs + 1, sizeof(Segment), 0, NULL);
		buf->segs[buf->nsegs].subid = subid;
		buf->segs[buf->nsegs].start = buf->n;
		buf->nsegs++;
	}
	if (buf->n == buf->cap)
		buf->entries = alexidx_grow(buf->entries, &buf->cap, buf->n + 1, sizeof(AxEntry), 0, NULL);
	{
		AxKey		k = {0, 0};

		if (!isnull[0])
			k = alexidx_datum_to_key(values[0], buf->keytype);
		/* SERIALIZABLE: a reader that locked this key's bucket conflicts with us */
		alexidx_predicate_check_insert(index, k, isnull[0]);
		buf->entries[buf->n].key = k.key;
		buf->entries[buf->n].key_lo = k.key_lo;
	}
	buf->entries[buf->n].tid = alexidx_tid_pack(ht_ctid, isnull[0]);
	speculative = alexidx_tuple_is_speculative(heapRel, ht_ctid);
	if (speculative)
	{
		if (buf->nspecs == buf->speccap)
			buf->specs = alexidx_grow(buf->specs, &buf->speccap, buf->nspecs + 1, sizeof(SpecNote), 16,
									  TopMemoryContext);
		buf->specs[buf->nspecs].pos = buf->n;
		buf->specs[buf->nspecs].cid = GetCurrentCommandId(false);
		buf->specs[buf->nspecs].bulkdeletes = pg_atomic_read_u64(&alexidx_shared->bulkdeletes_finished);
		buf->nspecs++;
	}
	buf->n++;

	/*
	 * Not while this speculative insertion is undecided: if it loses, the next flush drops its
	 * entry rather than leaving it in the tree for VACUUM.
	 */
	if (buf->n >= (Size) buf->limit && !speculative)
		flush_buffer(index, buf);
	return false;
}

void
alexidx_flush_index(Relation index)
{
	Oid			oid = RelationGetRelid(index);
	InsertBuffer *buf = hash_search(buffers, &oid, HASH_FIND, NULL);

	if (flushing)
		return;					/* (see alexidx_flush_all_buffers) */
	if (buf && buf->n > 0)
		flush_buffer(index, buf);
}

int64
alexidx_buffered_count(Oid indexoid)
{
	InsertBuffer *buf = hash_search(buffers, &indexoid, HASH_FIND, NULL);

	return buf ? (int64) buf->n : 0;
}

void
alexidx_flush_all_buffers(void)
{
	HASH_SEQ_STATUS seq;
	InsertBuffer *buf;

	/*
	 * Not from inside a flush: a partial index's predicate, tested while a buffer is being
	 * settled, may run a query whose start (flush_points.c) comes back here.
	 */
	if (flushing)
		return;

	hash_seq_init(&seq, buffers);
	while ((buf = hash_seq_search(&seq)) != NULL)
	{
		Relation	index;

		if (buf->n == 0)
			continue;
		/*
		 * The executor releases its index locks at the end of each statement (the heap's
		 * lock is what keeps the index alive), so take one again: RowExclusiveLock, as the
		 * executor did. Commands that would conflict with it (REINDEX, DROP INDEX) first
		 * lock the heap, which this transaction still holds, so this does not wait on them.
		 * Dropped later in this transaction: nothing to keep.
		 */
		index = try_relation_open(buf->indexoid, RowExclusiveLock);
		if (index == NULL)
		{
			buf->n = 0;
			buf->nspecs = 0;
			continue;
		}
		flush_buffer(index, buf);
		relation_close(index, RowExclusiveLock);
	}
}

/*
 * ALTER INDEX ... SET TABLESPACE gave an index a new relfilenode: tell the sidecar before
 * the commit can unlink the old file, so that the orphan sweep finds the index at either
 * place meanwhile. Indexes that did not move (or moved back) are left alone by the worker.
 */
static void
relocate_altered(void)
{
	int			i;

	for (i = 0; i < naltered; i++)
	{
		Relation	index = try_relation_open(altered[i], AccessShareLock);

		if (index == NULL)
			continue;
		if (index->rd_rel->relkind == RELKIND_INDEX && RelationGetNumberOfBlocks(index) > 0)
			alexidx_sidecar_relocate(index, alexidx_read_build_id(index));
		relation_close(index, AccessShareLock);
	}
	naltered = 0;
}

static void
remember_altered(Oid indexoid)
{
	int			i;

	for (i = 0; i < naltered; i++)
		if (altered[i] == indexoid)
			return;
	if (naltered == alteredcap)
		altered = alexidx_grow(altered, &alteredcap, naltered + 1, sizeof(Oid), 8, TopMemoryContext);
	altered[naltered++] = indexoid;
}

static void
discard_all(void)
{
	HASH_SEQ_STATUS seq;
	InsertBuffer *buf;

	hash_seq_init(&seq, buffers);
	while ((buf = hash_seq_search(&seq)) != NULL)
		free_buffer(buf);
}

static void
add_note(uint64 build_id, bool dropped)
{
	if (nnotes == notecap)
		notes = alexidx_grow(notes, &notecap, nnotes + 1, sizeof(BuildNote), 8, TopMemoryContext);
	notes[nnotes].build_id = build_id;
	notes[nnotes].subid = GetCurrentSubTransactionId();
	notes[nnotes].dropped = dropped;
	nnotes++;
}

void
alexidx_note_build(uint64 build_id)
{
	add_note(build_id, false);
}

/*
 * Builds of a transaction that ends: at commit, the builds of dropped indexes are dead; at
 * abort, the builds the transaction created are. The worker is told without waiting; if the
 * notice is lost (crash, full list), the orphan sweep finds the build later.
 */
static void
settle_notes(bool committed)
{
	int			i;

	for (i = 0; i < nnotes; i++)
		if (notes[i].dropped == committed)
			alexidx_post_drop(notes[i].build_id);
	nnotes = 0;
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (transaction_doomed)
				ereport(ERROR,
						(errcode(ERRCODE_TRANSACTION_ROLLBACK),
						 errmsg("the transaction cannot commit: the alexidx sidecar worker stopped while it wrote this transaction's entries of an unlogged index"),
						 errhint("Roll the transaction back and run it again once the worker is back (see alexidx_status()).")));
			alexidx_flush_all_buffers();
			relocate_altered();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			transaction_doomed = false;
			alexidx_sidecar_write_unsettled = false;
			alexidx_release_all_pins();
			discard_all();
			settle_notes(true);
			break;
		case XACT_EVENT_PREPARE:
			transaction_doomed = false;
			alexidx_sidecar_write_unsettled = false;
			/* the prepared transaction's fate is decided later; the sweep settles it */
			alexidx_release_all_pins();
			discard_all();
			nnotes = 0;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			transaction_doomed = false;
			alexidx_sidecar_write_unsettled = false;
			naltered = 0;
			alexidx_release_all_pins();
			discard_all();
			settle_notes(false);
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS seq;
	InsertBuffer *buf;
	int			i,
				kept;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;

	/*
	 * Entries of the aborted subtransaction (and its children, whose ids are larger) point
	 * to dead tuples that VACUUM may remove at any moment: they must never reach the index.
	 */
	hash_seq_init(&seq, buffers);
	while ((buf = hash_seq_search(&seq)) != NULL)
	{
		drop_entries_from(buf, mySubid);
	}

	kept = 0;
	for (i = 0; i < nnotes; i++)
	{
		if (notes[i].subid >= mySubid)
		{
			if (!notes[i].dropped)
				alexidx_post_drop(notes[i].build_id);
			continue;
		}
		notes[kept++] = notes[i];
	}
	nnotes = kept;
}

static Oid
alexidx_am_oid(void)
{
	return get_am_oid("alexidx", true);
}

static bool
is_alexidx_index(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		ours = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

		ours = form->relkind == RELKIND_INDEX && OidIsValid(form->relam) &&
			form->relam == alexidx_am_oid();
		ReleaseSysCache(tup);
	}
	return ours;
}

/*
 * A new index that PostgreSQL gave an existing index's storage without ambuild (ALTER COLUMN
 * TYPE that keeps the index: TryReuseIndex) carries that index's build on: it must not die
 * with the dropped index. Only indexes with storage at creation can be such an index, and
 * only if this transaction dropped an alexidx index.
 */
static void
adopt_reused_build(Oid indexoid)
{
	Relation	index;
	uint64		build_id;
	int			i,
				kept;

	for (i = 0; i < nnotes; i++)
		if (notes[i].dropped)
			break;
	if (i == nnotes)
		return;
	index = relation_open(indexoid, NoLock);
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != alexidx_am_oid() ||
		RelationGetNumberOfBlocks(index) == 0)
	{
		relation_close(index, NoLock);
		return;
	}
	build_id = alexidx_read_metapage(index);
	relation_close(index, NoLock);
	kept = 0;
	for (i = 0; i < nnotes; i++)
		if (!(notes[i].dropped && notes[i].build_id == build_id))
			notes[kept++] = notes[i];
	nnotes = kept;
}

/*
 * Remembers the build of each alexidx index being dropped, for commit time, and forgets it
 * again if a new index takes over its storage.
 */
static void
object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_POST_CREATE && classId == RelationRelationId && subId == 0)
		adopt_reused_build(objectId);
	if (access == OAT_POST_ALTER && classId == RelationRelationId && subId == 0 &&
		is_alexidx_index(objectId))
		remember_altered(objectId);

	if (access == OAT_DROP && classId == RelationRelationId && subId == 0)
	{
		if (is_alexidx_index(objectId))
		{
			ObjectAccessDrop *drop_arg = (ObjectAccessDrop *) arg;
			Relation	index = relation_open(objectId, NoLock);
			InsertBuffer *buf;
			uint64		build_id;

			buf = hash_search(buffers, &objectId, HASH_FIND, NULL);
			if (buf)
				settle_old_entries(index, buf, true);

			/*
			 * DROP INDEX CONCURRENTLY calls this in the first of its transactions, which only
			 * marks the index invalid: sessions that began before go on inserting into it and
			 * reading it while the drop waits for them, and a drop canceled later leaves it in
			 * use. Its relation file goes with the last transaction, and the orphan sweep then
			 * drops the build.
			 */
			if (!(drop_arg && (drop_arg->dropflags & PERFORM_DELETION_CONCURRENTLY)) &&
				alexidx_build_to_drop(index, &build_id))
				add_note(build_id, true);
			relation_close(index, NoLock);
		}
	}
}

void
alexidx_insert_init(void)
{
	HASHCTL		info;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(Oid);
	info.entrysize = sizeof(InsertBuffer);
	info.hcxt = TopMemoryContext;
	buffers = hash_create("alexidx insert buffers", 16, &info,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	prev_object_access_hook = object_access_hook;
	object_access_hook = object_access;
}
