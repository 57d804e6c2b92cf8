/*
 * shmem.c: alexidx's shared memory: the request slots the backends share with the sidecar
 * worker, the arena that holds every tree, and the registry that maps a build id to its tree.
 *
 * Lock order: registry_lock, then one index entry's lock. Nobody holding an entry lock ever
 * waits for registry_lock, so a remover (registry exclusive, then entry exclusive) knows
 * no one else is queued on the entry it frees.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "shared/ipc.h"

AxShared   *alexidx_shared = NULL;
HTAB	   *alexidx_registry = NULL;

static Size
arena_bytes(void)
{
	return (Size) alexidx_memory_mb * 1024 * 1024;
}

static int
slot_count(void)
{
	/* one per PGPROC that can run a backend or background worker */
	return MaxBackends;
}

static Size
shared_struct_bytes(void)
{
	return add_size(offsetof(AxShared, slots),
					mul_size(slot_count(), sizeof(AxRequestSlot)));
}

void
alexidx_shmem_request(void)
{
	RequestAddinShmemSpace(shared_struct_bytes());
	/* the arena is a mapping of its own (arena_file.c) */
	RequestAddinShmemSpace(hash_estimate_size(alexidx_max_indexes, sizeof(AxIndexEntry)));
	RequestAddinShmemSpace(alexidx_scan_pins_bytes());
	RequestNamedLWLockTranche("alexidx", 1);
}

void
alexidx_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	alexidx_shared = ShmemInitStruct("alexidx shared state", shared_struct_bytes(), &found);
	if (!found)
	{
		int			i;

		memset(alexidx_shared, 0, offsetof(AxShared, slots));
		alexidx_shared->registry_lock = &(GetNamedLWLockTranche("alexidx"))->lock;
		alexidx_shared->index_tranche = LWLockNewTrancheId();
		pg_atomic_init_u32(&alexidx_shared->worker_state, AXW_STARTING);
		pg_atomic_init_u64(&alexidx_shared->bulkdeletes_finished, 0);
		pg_atomic_init_u64(&alexidx_shared->applied_lsn, 0);
		pg_atomic_init_u64(&alexidx_shared->standby_trees_from, 0);
		pg_atomic_init_u64(&alexidx_shared->standby_vacuum_done_lsn, 0);
		pg_atomic_init_u64(&alexidx_shared->durable_lsn, 0);
		pg_atomic_init_u64(&alexidx_shared->snapshot_lsn, 0);
		pg_atomic_init_u32(&alexidx_shared->worker_owns_trees, 0);
		pg_atomic_init_u32(&alexidx_shared->test_exit_fired, 0);
		SpinLockInit(&alexidx_shared->notice_mutex);
		alexidx_shared->nslots = slot_count();
		for (i = 0; i < alexidx_shared->nslots; i++)
		{
			AxRequestSlot *slot = &alexidx_shared->slots[i];

			pg_atomic_init_u32(&slot->state, AXS_FREE);
			slot->latch = NULL;
			slot->request = 0;
		}

		/* a new shared memory: no backend runs, so no build is writing SST files */
		alexidx_remove_leftover_ingest_files();

		pg_atomic_init_u32(&alexidx_shared->arena_in_memfd, 0);
		alexidx_shared->arena_size = arena_bytes();
		alexidx_shared->arena = alexidx_arena_map(alexidx_shared->arena_size,
												  &alexidx_shared->arena_kept);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(uint64);
	info.entrysize = sizeof(AxIndexEntry);
	alexidx_registry = ShmemInitHash("alexidx registry", alexidx_max_indexes, alexidx_max_indexes,
									 &info, HASH_ELEM | HASH_BLOBS);
	alexidx_scan_pins_startup();

	LWLockRelease(AddinShmemInitLock);

	LWLockRegisterTranche(alexidx_shared->index_tranche, "alexidx_index");
}

/* (loading: the index's tree is being read into memory, after a restart say; else changed) */
static void pg_attribute_noreturn()
report_arena_full(Relation index, Size wanted, bool loading)
{
	Size		free_bytes;
	int			suggest_mb = alexidx_memory_mb + Max(alexidx_memory_mb / 2,
													 (int) (wanted / (1024 * 1024)) + 64);
	const char *what = loading ? "its tree" : "the change";
	const char *need = "";

	alexidx_arena_follow();
	free_bytes = ax_arena_free_bytes(alexidx_shared->arena);
	/* what the change needs, not what is missing: trees grow in large pieces */
	if (wanted > free_bytes)
		need = psprintf("; %s needs about %zu MB", what, wanted / (1024 * 1024) + 1);
	else if (wanted > 0)
		need = psprintf(", but not in pieces as large as %s needs (about %zu MB)",
						what, wanted / (1024 * 1024) + 1);

	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("alexidx shared memory is full%s%s",
					index ? (loading ? " while loading index " : " while changing index ") : "",
					index ? RelationGetRelationName(index) : ""),
			 errdetail("alexidx.memory is %d MB and %zu kB are free%s.",
					   alexidx_memory_mb, free_bytes / 1024, need),
			 errhint("Raise alexidx.memory to about %d MB in postgresql.conf and restart the server.",
					 suggest_mb)));
}

void
alexidx_report_arena_full(Relation index, Size wanted)
{
	report_arena_full(index, wanted, false);
}

void
alexidx_report_arena_full_loading(Relation index, Size wanted)
{
	report_arena_full(index, wanted, true);
}

/* The registered tree of build_id with its lock taken in mode, or NULL when none is. */
static AxIndexEntry *
lock_if_registered(uint64 build_id, LWLockMode mode)
{
	AxIndexEntry *entry;

	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	entry = hash_search(alexidx_registry, &build_id, HASH_FIND, NULL);
	if (entry)
		LWLockAcquire(&entry->lock, mode);
	LWLockRelease(alexidx_shared->registry_lock);
	if (entry)
		alexidx_arena_follow();
	return entry;
}

AxIndexEntry *
alexidx_acquire(Relation index, uint64 build_id, LWLockMode mode)
{
	int			attempts;

	/* just promoted: the trees lack what was replayed until the worker has applied it */
	alexidx_wait_for_tree_handover();
	/* just after a clean restart: changes wait until the trees are out of the image */
	if (mode == LW_EXCLUSIVE)
		alexidx_arena_wait_writable();

	for (attempts = 0;; attempts++)
	{
		AxIndexEntry *entry = lock_if_registered(build_id, mode);

		if (entry)
			return entry;
		if (attempts > 2)
			elog(ERROR, "alexidx: tree of index \"%s\" vanished while loading",
				 RelationGetRelationName(index));
		if (attempts == 0 && alexidx_shared->arena_kept)
		{
			/* just after a clean restart: the tree may be about to come from the image */
			alexidx_arena_wait_kept_taken();
			continue;
		}
		/* After a restart: the worker rebuilds the tree from the sidecar. */
		alexidx_sidecar_load(index, build_id);
	}
}

AxIndexEntry *
alexidx_acquire_if_loaded(uint64 build_id, LWLockMode mode)
{
	if (mode == LW_EXCLUSIVE)
		alexidx_arena_wait_writable();
	return lock_if_registered(build_id, mode);
}

/*
 * The trees of builds that a committed REINDEX, TRUNCATE or table rewrite replaced stay in the
 * arena until the worker's next orphan sweep (no hook tells an index access method that its
 * old relation file went). This has the worker sweep now, so that those trees do not keep a
 * change out; true when it dropped a build. Without a running worker there is no sweep, and
 * the caller reports a full arena as before.
 */
bool
alexidx_arena_reclaim(void)
{
	if (alexidx_worker_failed())
		return false;
	return alexidx_sidecar_sweep() > 0;
}

/* Sweeps first when the free memory may be short of what a change wants. */
void
alexidx_arena_make_room(Size wanted)
{
	alexidx_arena_follow();
	if (ax_arena_free_bytes(alexidx_shared->arena) < wanted + wanted / 2)
		(void) alexidx_arena_reclaim();
}

AxTreePair *
alexidx_new_pair(Relation index, Size expected_entries)
{
	AxError		err;
	AxTreeParams params = {0};
	AxTreePair *pair;

	if (index && index->rd_options)
		params.max_data_node_slots = ((AlexOptions *) index->rd_options)->max_node_slots;
	params.wide = index && alexidx_type_wide(alexidx_index_key_type(index));
	alexidx_arena_wait_writable();
	pair = ax_pair_create(alexidx_shared->arena, &params, &err);
	if (pair == NULL)
		alexidx_report_arena_full(index, expected_entries * alexidx_arena_bytes_per_entry(index));
	return pair;
}

void
alexidx_destroy_pair(AxTreePair *pair)
{
	AxError		err;

	if (pair == NULL)
		return;
	alexidx_arena_wait_writable();
	/* Nothing to undo: a tree that could not be freed only keeps its arena space. */
	if (ax_pair_destroy(alexidx_shared->arena, pair, &err) != AX_OK)
		ereport(WARNING,
				(errmsg("alexidx: could not free a tree: %s", err.message),
				 errdetail("Its shared memory stays in use until the server restarts.")));
}

/*
 * Registers the pair unless the registry already has the build (*taken false: somebody
 * loaded it meanwhile, theirs stays) or is full (false).
 */
static bool
register_entry(uint64 build_id, Oid dboid, AxTreePair *pair, bool *taken)
{
	AxIndexEntry *entry;
	bool		found;

	LWLockAcquire(alexidx_shared->registry_lock, LW_EXCLUSIVE);
	entry = hash_search(alexidx_registry, &build_id, HASH_ENTER_NULL, &found);
	*taken = entry != NULL && !found;
	if (*taken)
	{
		LWLockInitialize(&entry->lock, alexidx_shared->index_tranche);
		entry->dboid = dboid;
		entry->pair = pair;
	}
	LWLockRelease(alexidx_shared->registry_lock);
	return entry != NULL;
}

bool
alexidx_register_pair_as_is(uint64 build_id, Oid dboid, AxTreePair *pair)
{
	bool		taken;

	return register_entry(build_id, dboid, pair, &taken);
}

bool
alexidx_register_pair(uint64 build_id, Oid dboid, AxTreePair *pair)
{
	bool		taken;
	bool		ok = register_entry(build_id, dboid, pair, &taken);

	if (!taken)
		alexidx_destroy_pair(pair);
	return ok;
}

bool
alexidx_loaded_in_database(uint64 build_id, Oid dboid)
{
	AxIndexEntry *entry;
	bool		ok;

	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	entry = hash_search(alexidx_registry, &build_id, HASH_FIND, NULL);
	ok = entry != NULL && entry->dboid == dboid;
	LWLockRelease(alexidx_shared->registry_lock);
	return ok;
}

void
alexidx_report_too_many(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("too many alexidx indexes are loaded"),
			 errhint("Raise alexidx.max_indexes (now %d) in postgresql.conf and restart the server.",
					 alexidx_max_indexes)));
}

void
alexidx_forget_tree(uint64 build_id)
{
	AxIndexEntry *entry;

	LWLockAcquire(alexidx_shared->registry_lock, LW_EXCLUSIVE);
	entry = hash_search(alexidx_registry, &build_id, HASH_FIND, NULL);
	if (entry)
	{
		LWLockAcquire(&entry->lock, LW_EXCLUSIVE);
		alexidx_destroy_pair(entry->pair);
		entry->pair = NULL;
		LWLockRelease(&entry->lock);
		hash_search(alexidx_registry, &build_id, HASH_REMOVE, NULL);
	}
	LWLockRelease(alexidx_shared->registry_lock);
}

/*
 * Takes each registered tree's lock exclusively once, so that whoever was reading it has let
 * go; with forget, also takes it out of the registry (without freeing it).
 */
static void
visit_every_tree_exclusively(bool forget)
{
	HASH_SEQ_STATUS seq;
	AxIndexEntry *entry;

	LWLockAcquire(alexidx_shared->registry_lock, forget ? LW_EXCLUSIVE : LW_SHARED);
	hash_seq_init(&seq, alexidx_registry);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		LWLockAcquire(&entry->lock, LW_EXCLUSIVE);
		if (forget)
			entry->pair = NULL;
		LWLockRelease(&entry->lock);
		if (forget)
			hash_search(alexidx_registry, &entry->build_id, HASH_REMOVE, NULL);
	}
	LWLockRelease(alexidx_shared->registry_lock);
}

void
alexidx_unregister_all_trees(void)
{
	visit_every_tree_exclusively(true);
}

void
alexidx_wait_for_tree_readers(void)
{
	visit_every_tree_exclusively(false);
}

void
alexidx_forget_all_trees(void)
{
	HASH_SEQ_STATUS seq;
	AxIndexEntry *entry;
	uint64	   *ids;
	int			n = 0,
				i;

	LWLockAcquire(alexidx_shared->registry_lock, LW_SHARED);
	ids = palloc(sizeof(uint64) * (hash_get_num_entries(alexidx_registry) + 1));
	hash_seq_init(&seq, alexidx_registry);
	while ((entry = hash_seq_search(&seq)) != NULL)
		ids[n++] = entry->build_id;
	LWLockRelease(alexidx_shared->registry_lock);
	for (i = 0; i < n; i++)
		alexidx_forget_tree(ids[i]);
	pfree(ids);
}

void
alexidx_post_drop(uint64 build_id)
{
	bool		posted = false;

	if (alexidx_shared == NULL)
		return;
	SpinLockAcquire(&alexidx_shared->notice_mutex);
	if (alexidx_shared->nnotices < AX_MAX_DROP_NOTICES)
	{
		alexidx_shared->notices[alexidx_shared->nnotices++] = build_id;
		posted = true;
	}
	SpinLockRelease(&alexidx_shared->notice_mutex);
	/* When the list is full, the periodic sweep finds the orphan instead. */
	if (posted && alexidx_shared->worker_latch)
		SetLatch(alexidx_shared->worker_latch);
}

void
alexidx_post_compaction(uint64 build_id)
{
	bool		posted = false;
	/* the end of the removals this backend logged (0 for an unlogged index: none to wait for) */
	XLogRecPtr	after = XactLastRecEnd;

	if (alexidx_shared == NULL)
		return;
	SpinLockAcquire(&alexidx_shared->notice_mutex);
	if (alexidx_shared->ncompact_notices < AX_MAX_COMPACT_NOTICES)
	{
		alexidx_shared->compact_builds[alexidx_shared->ncompact_notices] = build_id;
		alexidx_shared->compact_after[alexidx_shared->ncompact_notices] = after;
		alexidx_shared->ncompact_notices++;
		posted = true;
	}
	SpinLockRelease(&alexidx_shared->notice_mutex);
	/* When the list is full, the compaction is skipped: it only gives space back sooner. */
	if (posted && alexidx_shared->worker_latch)
		SetLatch(alexidx_shared->worker_latch);
}
