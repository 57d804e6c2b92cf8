/*
 * alexidx.h: declarations shared by the C files of the access method.
 *
 * Where the code lives, by the process that runs it (am/README.md has the table):
 *   - alexidx.c: the module's entry points (_PG_init in the postmaster, the handler);
 *     utils.c: helpers every process uses
 *   - shared/: shared memory, the arena and its image, the registry of loaded trees;
 *     shared/ipc.h: the request slots and AxShared, for the files that use them
 *   - backend/: the access method's callbacks, the SQL functions, the requests to the worker
 *   - worker/: the sidecar worker (the only code that opens RocksDB), following the WAL
 *   - wal/: the custom WAL records
 *   - engine/: the C++ side behind engine.h, its files named by the process that calls them
 */
#ifndef ALEXIDX_H
#define ALEXIDX_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/xlogdefs.h"
#include "access/genam.h"
#include "common/relpath.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/s_lock.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "engine.h"

#define ALEXIDX_VERSION "0.4.0"

/* ---------- GUCs (alexidx.c) ---------- */
extern int	alexidx_memory_mb;
extern int	alexidx_max_indexes;
extern int	alexidx_insert_buffer;
extern int	alexidx_sweep_interval;
extern bool alexidx_preloaded;
extern bool alexidx_hold_sidecar_apply;
extern int	alexidx_test_worker_exit;
extern bool alexidx_hold_arena_copy;
extern bool alexidx_am_sidecar_worker;

/* Fails with a message naming shared_preload_libraries unless we were preloaded. */
extern void alexidx_require_preload(void);

/* Turns an engine failure into an ereport(ERROR). */
extern void alexidx_report(const AxError *err, const char *context, Relation index) pg_attribute_noreturn();

/* reloptions (alexidx.c) */
typedef struct AlexOptions
{
	int32		vl_len_;
	int			max_node_slots;
	int			insert_buffer;
} AlexOptions;

/* ---------- the metapage (metapage.c) ---------- */
#define ALEXIDX_MAGIC 0xA1E71D00
#define ALEXIDX_PAGE_VERSION 1
#define ALEXIDX_METAPAGE_BLKNO 0

typedef struct AlexMetaPageData
{
	uint32		magic;
	uint32		version;
	uint64		build_id;
} AlexMetaPageData;

extern void alexidx_write_metapage(Relation index, ForkNumber fork, uint64 build_id);
/* The build id the metapage names, as stored. */
extern uint64 alexidx_read_metapage(Relation index);
/* The index's build (cached per relcache entry): the metapage's, or its copy's for this
 * database after CREATE DATABASE ... TEMPLATE (the metapage is then updated). */
extern uint64 alexidx_read_build_id(Relation index);
/* The build to drop with an index being dropped; false (no ERROR) when it has none: no
 * metapage, a bad one, a build unknown to the sidecar, or a failed sidecar worker. */
extern bool alexidx_build_to_drop(Relation index, uint64 *build_id);

/* ---------- keys (keys.c): datums to order-preserving keys ---------- */
/* The whole key space, as copy-range bounds. */
#define AX_KEY_MIN ((AxKey) {PG_INT64_MIN, 0})
#define AX_KEY_MAX ((AxKey) {PG_INT64_MAX, PG_UINT64_MAX})
extern bool alexidx_type_supported(Oid typid);
/* Keys of this type are two words (AxEntry.key_lo): uuid. */
extern bool alexidx_type_wide(Oid typid);
extern AxKey alexidx_datum_to_key(Datum value, Oid typid);

extern bool alexidx_key_returnable(Oid typid);
/* The type index keys map from (the opclass input type, never a domain). */
extern Oid alexidx_index_key_type(Relation index);
/* By-reference types (uuid) come back palloc'd. */
extern Datum alexidx_key_to_datum(AxKey key, Oid typid);
extern char *alexidx_key_string(AxKey key, Oid typid);
struct pg_uuid_t;
extern void alexidx_key_to_uuid(AxKey key, struct pg_uuid_t *out);

/* What a scan reads: disjoint ascending [lo, hi] ranges of the values' tree, then NULLs. */
typedef struct AxScanPlan
{
	int			nranges;
	int			maxranges;
	AxKey	   *lo;
	AxKey	   *hi;
	bool		want_nulls;
	/* the ranges hold more than the keys match: the executor checks each row again */
	bool		recheck;
} AxScanPlan;

/* Folds the scan keys (scalars, IN lists, IS [NOT] NULL) into a plan; caller allocates
 * lo/hi with maxranges >= 1. Contradictory keys give an empty plan. */
extern void alexidx_plan_scan(ScanKey keys, int nkeys, Oid keytype, AxScanPlan *plan);

static inline uint64
alexidx_tid_pack(ItemPointer tid, bool isnull)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid) | (isnull ? AX_NULL_FLAG : 0);
}

/* the heap block of a packed TID */
static inline BlockNumber
alexidx_tid_block(uint64 packed)
{
	return (BlockNumber) (packed >> 16);
}

static inline void
alexidx_tid_unpack(uint64 packed, ItemPointer tid)
{
	ItemPointerSet(tid, alexidx_tid_block(packed),
				   (OffsetNumber) (packed & 0xffff & ~AX_NULL_FLAG));
}

static inline bool
alexidx_entry_isnull(const AxEntry *e)
{
	return (e->tid & AX_NULL_FLAG) != 0;
}

/* (utils.c) Moves the NULL entries of a sorted array to the end, keeping both runs sorted;
 * returns how many non-NULL entries come first. */
extern Size alexidx_split_nulls(AxEntry *entries, Size n);

/* (utils.c) Room for at least need elements in a growable array; returns it, maybe moved. */
extern void *alexidx_grow(void *items, Size *cap, Size need, Size elem, Size first,
						  MemoryContext cxt);

/* ---------- the registry of loaded trees (shared/shmem.c) ---------- */

/* One loaded tree. Lives in the registry hash, keyed by build id. */
typedef struct AxIndexEntry
{
	uint64		build_id;		/* hash key */
	Oid			dboid;			/* the database of the build's index */
	LWLock		lock;			/* shared: read the trees; exclusive: change them */
	AxTreePair *pair;			/* the values' tree and the NULLs' tree */
} AxIndexEntry;

/* ---------- the arena's memory, kept across clean restarts (arena_file.c) ---------- */
extern bool alexidx_keep_trees;
extern void *alexidx_arena_map(Size heap_size, bool *kept);
extern int	alexidx_arena_take_kept_trees(AxDb *sidecar, uint64 opened_at, bool usable);
extern bool alexidx_arena_copy_pending(void);
extern void alexidx_arena_copy_kept_trees(void);
/*
 * After a clean restart the trees are read from the image of the last shutdown, mapped
 * read-only, until the worker has copied it into the arena's memory. Before reading a tree
 * (with its lock held, so that no change to the copy can precede the read): maps the copy if
 * it is done. Before changing anything in the arena: waits until it is done, then maps it.
 */
extern void alexidx_arena_follow(void);
/*
 * Before concluding that a tree is not loaded: just after a clean restart, waits until the
 * worker has registered the kept trees (it opens the sidecar first), rather than asking it
 * for a tree that is about to be there.
 */
extern void alexidx_arena_wait_kept_taken(void);
extern void alexidx_arena_wait_writable(void);
/* This process may write into the arena now (it does not read the trees from the image). */
extern bool alexidx_arena_writable(void);


extern void alexidx_shmem_request(void);
extern void alexidx_shmem_startup(void);

/*
 * Finds the build's tree, asking the sidecar worker to load it after a restart, and returns
 * it with its lock held in mode. Release with LWLockRelease(&entry->lock).
 */
extern AxIndexEntry *alexidx_acquire(Relation index, uint64 build_id, LWLockMode mode);
/* The same, or NULL when the tree is not loaded (it is not loaded then). */
extern AxIndexEntry *alexidx_acquire_if_loaded(uint64 build_id, LWLockMode mode);
/* Frees every loaded tree (a worker that restarts on a standby reloads them). */
extern void alexidx_forget_all_trees(void);
/* Takes every tree out of the registry without freeing it (the arena is about to be formatted). */
extern void alexidx_unregister_all_trees(void);
/* Returns once every process that was reading a tree has let go of its lock. */
extern void alexidx_wait_for_tree_readers(void);
/* Registers a build's trees; false (and the trees freed) when the registry is full. */
extern bool alexidx_register_pair(uint64 build_id, Oid dboid, AxTreePair *pair);
/* The same, but never frees them: registered already is fine, a full registry returns false. */
extern bool alexidx_register_pair_as_is(uint64 build_id, Oid dboid, AxTreePair *pair);
/* Is the build's tree loaded, for an index of database dboid? */
extern bool alexidx_loaded_in_database(uint64 build_id, Oid dboid);
/* Creates an empty pair of trees, or reports a full arena. */
extern AxTreePair *alexidx_new_pair(Relation index, Size expected_entries);
extern bool alexidx_arena_reclaim(void);
extern void alexidx_arena_make_room(Size wanted);
extern void alexidx_report_too_many(void) pg_attribute_noreturn();
/*
 * Frees a build's tree if it is loaded: the sidecar worker when a build dies, and any process
 * that can no longer trust a tree (the next use loads it again from the sidecar).
 */
extern void alexidx_forget_tree(uint64 build_id);
/* Frees a pair of trees; a failure is only a WARNING (the arena space stays in use). */
extern void alexidx_destroy_pair(AxTreePair *pair);
/* Posts a build for the worker to drop, without waiting (safe in abort paths). */
extern void alexidx_post_drop(uint64 build_id);
/*
 * Posts a build for the worker to compact (to give back the disk space of removed entries)
 * once it has applied this backend's WAL so far, without waiting.
 */
extern void alexidx_post_compaction(uint64 build_id);
/* Raises an ERROR that says how much to raise alexidx.memory by. */
extern void alexidx_report_arena_full(Relation index, Size wanted) pg_attribute_noreturn();
extern void alexidx_report_arena_full_loading(Relation index, Size wanted) pg_attribute_noreturn();
/*
 * Arena bytes one entry takes in a tree, for that ERROR's estimate of what is missing: the
 * 16-byte tree entry (24 in a uuid index) plus the gaps its data node keeps free and its
 * share of the node headers. A bulk load packs data nodes 93% full (about 17.5 bytes per
 * entry); nodes that take inserts keep 50-85% of their slots full (about 19-32 bytes), so 24
 * is the middle of what an index that has taken inserts measures.
 */
#define ALEXIDX_ARENA_BYTES_PER_ENTRY 24
/* the same for a uuid index, whose keys take 8 bytes more */
#define ALEXIDX_ARENA_BYTES_PER_WIDE_ENTRY 32

static inline Size
alexidx_arena_bytes_per_entry(Relation index)
{
	return index && alexidx_type_wide(alexidx_index_key_type(index)) ?
		ALEXIDX_ARENA_BYTES_PER_WIDE_ENTRY : ALEXIDX_ARENA_BYTES_PER_ENTRY;
}

/*
 * Does the index's change go through PostgreSQL's WAL (wal.c)? Permanent indexes: yes, whose
 * sidecar the worker brings up to date from the WAL. Unlogged and temporary ones: no, the
 * backend asks the worker to write their sidecar.
 */
static inline bool
alexidx_index_is_logged(Relation index)
{
	return index->rd_rel->relpersistence == RELPERSISTENCE_PERMANENT;
}

/* ---------- talking to the sidecar worker (sidecar_client.c) ---------- */
/*
 * For a wait on the worker that began at since: an ERROR if the worker failed, or if it has
 * not been running for alexidx.worker_start_timeout (since 0: no time limit).
 */
extern void alexidx_check_worker(TimestampTz since);
extern int	alexidx_worker_start_timeout_ms;
extern bool alexidx_sidecar_write_unsettled;
/* Records a new build; *out gets its record (for the WAL). */
extern uint64 alexidx_sidecar_new_build(Relation index, AxBuildRecord *out);
/* Ingests "<prefix>.<i>.sst" for i < nfiles (none: just marks the build ready). */
extern void alexidx_sidecar_ingest(Relation index, uint64 build_id, const char *prefix, int nfiles);
extern void alexidx_sidecar_write(Relation index, uint64 build_id, const AxEntry *entries,
								  Size n, bool is_delete);
extern void alexidx_sidecar_load(Relation index, uint64 build_id);
extern uint64 alexidx_sidecar_bytes(uint64 build_id);
extern uint64 alexidx_sidecar_check(Relation index, uint64 build_id);
extern char *alexidx_sidecar_dir(void);
extern char *alexidx_live_dir(void);
extern char *alexidx_ingest_dir(void);
extern void alexidx_remove_leftover_ingest_files(void);
/*
 * Tells the sidecar that the index now has the storage it has here (ALTER INDEX ... SET
 * TABLESPACE gave it a new relfilenode), before the old one can disappear at commit.
 */
extern void alexidx_sidecar_relocate(Relation index, uint64 build_id);
/*
 * CREATE DATABASE copied database src to dst: every build of src gets a copy for dst.
 * Returns how many builds were copied.
 */
extern uint64 alexidx_sidecar_copy_database(Oid src, Oid dst);
extern uint64 alexidx_sidecar_sweep(void);
/*
 * The build of this index, whose metapage names meta_build: meta_build itself, or the copy
 * made for this database when CREATE DATABASE copied the index. ERROR when there is none.
 */
extern uint64 alexidx_sidecar_resolve(Relation index, uint64 meta_build, AxBuildRecord *record);
/* The same, but false instead of an ERROR when the sidecar has no such build (for a DROP,
 * which must not need the build). */
extern bool alexidx_sidecar_find_build(Relation index, uint64 meta_build, uint64 *build_id);
/* Whether the sidecar worker is in the failed state (alexidx_status() says why). */
extern bool alexidx_worker_failed(void);
/*
 * Copies one page (at most AX_LIST_MAX) of the build records whose ids are above after, in
 * build id order; returns how many it copied. A full page means there may be more.
 */
extern int	alexidx_sidecar_list(AxBuildRecord *out, uint64 after);
/* (AX_LIST_MAX, the page size, is in shared/ipc.h: a page fits in a request slot) */

/* ---------- the sidecar worker (sidecar_worker.c, build_location.c) ---------- */
extern void alexidx_register_worker(void);
/*
 * Is the build's index still there? Follows moves between tablespaces and updates *rec to
 * the place it found (*changed: rec must be stored again).
 */
extern bool alexidx_locate_build(AxBuildRecord *rec, bool *changed);
typedef enum AxCreatorState
{
	AX_CREATOR_RUNNING,
	AX_CREATOR_COMMITTED,
	AX_CREATOR_ABORTED			/* rolled back, or cut short by a crash */
} AxCreatorState;
/* What became of the transaction that created a build (xid 0: committed long ago). */
extern AxCreatorState alexidx_creator_state(TransactionId xid);
/* The build id that the metapage at the record's location names; false if unreadable. */
extern bool alexidx_read_location_build(const AxBuildRecord *rec, uint64 *meta_build);
extern PGDLLEXPORT void alexidx_worker_main(Datum arg);

/* ---------- following the WAL into the sidecar (wal_follow.c, worker only) ---------- */
#define ALEXIDX_SLOT_NAME "alexidx_sidecar"
/*
 * Opens the WAL reader at the sidecar's applied position and takes the replication slot that
 * keeps the WAL from there. false with *why set when the server cannot keep the WAL for the
 * sidecar (wal_level, max_replication_slots, a slot that lost WAL).
 */
extern bool alexidx_follow_start(AxDb *db, char *why, Size whylen);
/*
 * Applies WAL to the sidecar up to the end of flushed WAL, or to upto when it is valid, reading
 * at most budget bytes. Returns true when more WAL is waiting; a failed RocksDB write sets
 * err (reading then resumes from the applied position).
 */
extern bool alexidx_follow(AxDb *db, XLogRecPtr upto, Size budget, AxError *err);
/*
 * Applies everything logged so far (logs a mark, flushes to it, follows to it): call before
 * reading a build's entries from the sidecar. false with err set on failure.
 */
extern bool alexidx_follow_catch_up(AxDb *db, AxError *err);
/*
 * After a promotion: applies (to the trees too) the WAL replayed before it, then hands the
 * trees to the backends. Does nothing otherwise.
 */
extern bool alexidx_follow_promotion(AxDb *db, AxError *err);
/* Makes the applied WAL durable in the sidecar when due (or now) and advances the slot. */
extern void alexidx_follow_sync(AxDb *db, bool now);
/* Applies the WAL before target, which must be flushed. false with err set on failure. */
extern bool alexidx_follow_to(AxDb *db, XLogRecPtr target, AxError *err);
/*
 * The sidecar did not come from this server's own running (a snapshot, or nothing): builds
 * whose creation the WAL before upto logs are made from the WAL, as a standby makes them.
 */
extern void alexidx_follow_rebuild_until(XLogRecPtr upto);
/* The redo pointer of the newest checkpoint record the sidecar has applied past. */
extern XLogRecPtr alexidx_follow_checkpoint_redo(void);

/* ---------- the sidecar's place on disk and its snapshots (sidecar_snapshot.c, worker) ---------- */
extern int	alexidx_snapshots_kept;
extern AxDb *alexidx_open_sidecar(char *set_aside, Size set_aside_len, bool *restored, AxError *err);
extern TimeLineID alexidx_server_timeline(void);
extern void alexidx_snapshots_step(AxDb *db);
extern void alexidx_snapshots_stop(void);
/* Startup process, before redo: a restored sidecar's WAL outlives recovery's checkpoints. */
extern void alexidx_keep_wal_for_snapshots(void);

/* ---------- hot standbys and promotion (standby.c) ---------- */
extern int	alexidx_standby_wait_ms;
/* In recovery: waits until the worker applied everything replayed so far (to the trees). */
extern void alexidx_wait_for_standby_apply(void);
/*
 * The startup process, replaying a VACUUM_DONE on a hot standby: waits until no index-only
 * scan holds entries of the build copied before now (cancels them after the standby delay).
 */
extern void alexidx_standby_replay_vacuum_done(uint64 build_id);
/* An index-only scan on a standby, after publishing its pin: before it copies a chunk. */
extern void alexidx_wait_for_standby_vacuums(void);
/* Just promoted: waits until the worker applied the WAL replayed before the promotion. */
extern void alexidx_wait_for_tree_handover(void);

/* ---------- heap prefetch for index scans (scan_prefetch.c) ---------- */
extern int	alexidx_prefetch_distance;
/* Looks up the buffer of a row the scan will return, and starts loading its page's lines. */
extern int	alexidx_prefetch_locate(Relation heap, ItemPointer tid);
/* Later, once its line pointer is likely in cache: starts loading the tuple itself. */
extern void alexidx_prefetch_tuple(int buf_id, ItemPointer tid);

/* ---------- index-only scans vs VACUUM (scan_pins.c) ---------- */
extern Size alexidx_scan_pins_bytes(void);
extern void alexidx_scan_pins_startup(void);
/*
 * The scan's pin for build_id: handle itself while it is still held, else a new one (none
 * yet, or it was released), owned by CurrentResourceOwner, whose release releases it too.
 */
extern int64 alexidx_pin_keep(int64 handle, uint64 build_id);
/*
 * Records the current scan epoch in a kept pin: on a primary with the tree's lock held, when
 * copying; on a standby before waiting for the worker (standby.c).
 */
extern void alexidx_pin_mark(int64 handle);
extern void alexidx_pin_release(int64 handle);
extern void alexidx_release_all_pins(void);
/* ambulkdelete, right after it erased entries (exclusive lock held): the new epoch. */
extern uint64 alexidx_advance_scan_epoch(void);
/*
 * The current scan epoch. ambulkdelete moves it on under the tree's exclusive lock right after
 * erasing entries, and again before it returns, which is before the heap may reuse any TID
 * (scan.c's dead hints rely on that).
 */
extern uint64 alexidx_scan_epoch(void);
/* Waits until no scan of build_id holds entries copied before epoch. */
extern void alexidx_wait_for_scans(uint64 build_id, uint64 epoch);
/* Does a scan of build_id hold entries copied before epoch? */
extern bool alexidx_scans_pinned_before(uint64 build_id, uint64 epoch);
/*
 * Hot standby: cancels those scans (only those waiting for a lock, with lock_waiters_only), as
 * a recovery conflict (they end their transactions).
 */
extern void alexidx_cancel_scans_pinned_before(uint64 build_id, uint64 epoch, bool lock_waiters_only);

/* ---------- alexidx_check (functions.c, check_heap.c) ---------- */
/*
 * Every entry points to a row with its key (the caller holds a ShareLock on heap); returns
 * how many entries were checked, or raises an ERROR that names the REINDEX to run.
 */
extern int64 alexidx_check_entries_in_heap(Relation index, Relation heap, uint64 build_id);

/* ---------- speculative insertions (speculative.c) ---------- */
/* Is the heap tuple at tid a speculative insertion not yet confirmed? */
extern bool alexidx_tuple_is_speculative(Relation heap, ItemPointer tid);
/*
 * Is the speculative tuple that this transaction inserted at tid (command cid) still alive
 * (confirmed, or not yet decided), rather than killed?
 * maybe_reused: an ambulkdelete has finished since, so the TID may hold another tuple.
 */
extern bool alexidx_speculative_survived(Relation heap, ItemPointer tid, CommandId cid,
										 bool maybe_reused);
/*
 * Tests heap tuples against a partial index's predicate during one flush: begin returns NULL
 * for an index without one, which every tuple meets.
 */
typedef struct AxPredicateCheck AxPredicateCheck;
extern AxPredicateCheck *alexidx_predicate_check_begin(Relation index, Relation heap);
extern bool alexidx_predicate_check(AxPredicateCheck *pc, ItemPointer tid);
extern void alexidx_predicate_check_end(AxPredicateCheck *pc);

/* ---------- CREATE DATABASE ... TEMPLATE (database_copy.c) ---------- */
extern void alexidx_database_copy_init(void);

/* ---------- insert buffers (insert.c) ---------- */
extern void alexidx_insert_init(void);
extern void alexidx_flush_index(Relation index);
/*
 * Flushes every insert buffer of this backend (commit does; so do the statements in
 * flush_points.c before they start).
 */
extern void alexidx_flush_all_buffers(void);
/* flush_points.c: _PG_init; and from the ProcessUtility hook, before each utility statement */
extern void alexidx_flush_points_init(void);
extern void alexidx_flush_before_utility(Node *stmt);
extern int64 alexidx_buffered_count(Oid indexoid);
extern void alexidx_note_build(uint64 build_id);

/* ---------- access method callbacks ---------- */
extern IndexBuildResult *alexidx_build(Relation heap, Relation index, IndexInfo *indexInfo);
extern void alexidx_buildempty(Relation index);
extern char *alexidx_buildphasename(int64 phasenum);
extern bool alexidx_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
						   Relation heapRel, IndexUniqueCheck checkUnique,
						   bool indexUnchanged, IndexInfo *indexInfo);
extern IndexBulkDeleteResult *alexidx_bulkdelete(IndexVacuumInfo *info,
												 IndexBulkDeleteResult *stats,
												 IndexBulkDeleteCallback callback,
												 void *callback_state);
extern IndexBulkDeleteResult *alexidx_vacuumcleanup(IndexVacuumInfo *info,
													IndexBulkDeleteResult *stats);
/* Installs the planner hook that gives partial indexes their entry count (cost.c). */
extern void alexidx_cost_init(void);
extern void alexidx_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
								 Cost *indexStartupCost, Cost *indexTotalCost,
								 Selectivity *indexSelectivity, double *indexCorrelation,
								 double *indexPages);
extern bytea *alexidx_options(Datum reloptions, bool validate);
extern bool alexidx_validate(Oid opclassoid);
extern IndexScanDesc alexidx_beginscan(Relation index, int nkeys, int norderbys);
extern void alexidx_rescan(IndexScanDesc scan, ScanKey keys, int nkeys,
						   ScanKey orderbys, int norderbys);
extern bool alexidx_gettuple(IndexScanDesc scan, ScanDirection dir);
extern int64 alexidx_getbitmap(IndexScanDesc scan, TIDBitmap *tbm);
extern void alexidx_endscan(IndexScanDesc scan);
extern void alexidx_markpos(IndexScanDesc scan);
extern void alexidx_restrpos(IndexScanDesc scan);
extern bool alexidx_canreturn(Relation index, int attno);
extern Size alexidx_estimateparallelscan(void);
extern void alexidx_initparallelscan(void *target);
extern void alexidx_parallelrescan(IndexScanDesc scan);

/* ---------- SERIALIZABLE's predicate locks (predicate_locks.c) ---------- */
/* Locks the buckets of the key space a scan's plan reads (or the whole index). */
extern void alexidx_predicate_lock_scan(Relation index, Snapshot snapshot, const AxScanPlan *plan);
/* Raises a serialization failure if a reader locked the bucket of the key being inserted. */
extern void alexidx_predicate_check_insert(Relation index, AxKey key, bool isnull);

/* ---------- the shared position of parallel index scans (scan_parallel.c) ---------- */
extern bool alexidx_parallel_seize(IndexScanDesc scan, bool backward, int nsegs, int *seg,
								   AxEntry *resume, bool *has_resume);
extern void alexidx_parallel_release(IndexScanDesc scan, int nsegs, int seg, const AxEntry *last);

/* build progress sub-phases */
#define ALEXIDX_PHASE_SORT 2
#define ALEXIDX_PHASE_LOAD 3
#define ALEXIDX_PHASE_SIDECAR 4

#endif							/* ALEXIDX_H */
