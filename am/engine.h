/*
 * engine.h: the C face of alexidx's C++ side.
 *
 * The access method is split in two zones (the pg_duckdb rule):
 *   - C files under am/ talk to PostgreSQL and may ereport();
 *   - C++ files under am/engine/ never call PostgreSQL and never let an exception escape.
 * Every function declared here either is a boundary guard, which catches every C++ exception
 * and turns it into an AxStatus plus a message in an AxError that the C caller reports with
 * ereport() once it is back in the C zone, or cannot fail and is declared AX_NOEXCEPT.
 * Nothing in here longjmps, and no failure is dropped on the way.
 *
 * This header is plain C so that PostgreSQL's headers and the C++ headers never meet in one
 * translation unit.
 */
#ifndef ALEXIDX_ENGINE_H
#define ALEXIDX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define AX_NOEXCEPT noexcept
extern "C"
{
#else
#define AX_NOEXCEPT
#endif

/* One index entry: the order-preserving image of the key and the heap TID packed as
 * (block << 16 | offset). A key is one signed word (key) in a narrow index (every type but
 * uuid; key_lo is then 0), or two words in a wide one (uuid): key holds the leading 64 bits
 * with the sign bit flipped, so that signed order is the bytes' order, and key_lo the
 * trailing 64 bits, unsigned. Entries order by (key, key_lo, tid). A NULL key is stored as
 * zeros with AX_NULL_FLAG set in the offset bits (heap offsets never reach 0x8000); the
 * access method keeps NULL entries in a tree of their own. */
#define AX_NULL_FLAG 0x8000
typedef struct AxEntry
{
	int64_t		key;
	uint64_t	tid;
	uint64_t	key_lo;			/* wide keys only; 0 in a narrow index */
} AxEntry;

/*
 * What CREATE INDEX of a narrow index collects: AxEntry without key_lo, a third smaller to
 * sort, log and load. The build's arrays hold these unless the index is wide (then AxEntry);
 * both layouts start with key and tid.
 */
typedef struct AxNarrowEntry
{
	int64_t		key;
	uint64_t	tid;
} AxNarrowEntry;

/* A key alone, as a scan bound: (key, key_lo) ordered as in AxEntry. */
typedef struct AxKey
{
	int64_t		key;
	uint64_t	key_lo;
} AxKey;

typedef enum AxStatus
{
	AX_OK = 0,
	AX_NOMEM,					/* the shared arena is full */
	AX_NOTFOUND,				/* the sidecar has no record of the build */
	AX_CORRUPT,					/* the sidecar or a tree failed a check */
	AX_IOERROR,					/* RocksDB or the file system failed */
	AX_NOSPACE,					/* the sidecar's file system is full */
	AX_ERROR					/* anything else */
} AxStatus;

typedef struct AxError
{
	AxStatus	status;
	char		message[512];
} AxError;

/* ---------- the shared-memory arena (Boost.Interprocess over PostgreSQL shmem) ---------- */

/* Lays out an arena in [base, base+size). Called once by the postmaster at shmem init. */
AxStatus	ax_arena_create(void *base, size_t size, AxError *err);
size_t		ax_arena_free_bytes(void *base);

/* ---------- trees in the arena ---------- */

typedef struct AxTree AxTree;	/* opaque; lives inside the arena */

typedef struct AxTreeParams
{
	size_t		max_data_node_slots;	/* 0 = library default */
	bool		wide;			/* two-word keys (AxEntry.key_lo): a uuid index */
} AxTreeParams;

typedef struct AxTreeStats
{
	size_t		entries;
	size_t		depth;
	size_t		model_nodes;
	size_t		data_nodes;
	size_t		memory_bytes;
	double		avg_search_distance;
	/* how often the tree changed shape since it was made (the core's alex::Events) */
	size_t		expansions;		/* a data node grew, retrained */
	size_t		retrains;		/* a data node retrained in no more slots */
	size_t		shrinks;		/* a data node shrank after erases */
	size_t		sideways_splits;	/* a data node split across its parent's slots */
	size_t		downward_splits;	/* a data node split into a subtree */
	size_t		model_doublings;	/* a model node doubled its slots for a sideways split */
	size_t		model_widenings;	/* a model node widened its key block for a new key */
	size_t		parents_added;	/* a model node went above another for a new key */
	size_t		failed_shrinks; /* a shrink after erases ran out of arena (node kept as is) */
} AxTreeStats;

/*
 * One tree. The access method uses trees only in pairs (AxTreePair, below); these are the
 * pair's halves, and what the engine's seam test drives directly.
 */
AxTree	   *ax_tree_create(void *arena, const AxTreeParams *params, AxError *err);
AxStatus	ax_tree_destroy(void *arena, AxTree *tree, AxError *err);
AxStatus	ax_tree_bulk_load(AxTree *tree, const AxEntry *sorted, size_t n, AxError *err);
/* entries may be reordered in place */
AxStatus	ax_tree_insert_batch(AxTree *tree, AxEntry *entries, size_t n, AxError *err);
/*
 * entries may be reordered in place; *removed counts what was found. On failure some entries
 * may be gone and others not: the caller must stop trusting the tree (drop and reload it).
 */
AxStatus	ax_tree_erase_batch(AxTree *tree, AxEntry *entries, size_t n, size_t *removed,
								AxError *err);
size_t		ax_tree_size(const AxTree *tree) AX_NOEXCEPT;
/* Bytes of the arena the tree holds (kept as it allocates: no walk). */
size_t		ax_tree_memory_bytes(const AxTree *tree) AX_NOEXCEPT;

/*
 * Copies up to max entries with lo <= key <= hi, ascending (or descending when backward),
 * strictly after (before) *resume when resume is non-NULL. A result < max means the range
 * is exhausted. With skip_dead, entries marked by ax_tree_mark_dead are left out.
 */
size_t		ax_tree_copy_range(const AxTree *tree, AxKey lo, AxKey hi,
							   const AxEntry *resume, bool backward, bool skip_dead,
							   AxEntry *out, size_t max) AX_NOEXCEPT;
/*
 * Dead hints: marks the given entries (those the tree holds) as dead to every transaction, so
 * that copies with skip_dead leave them out; returns how many it marked. A hint only: the
 * entries stay until erased, and no other entry ever inherits a mark. Under the tree's
 * shared lock (marks are atomic and allocate nothing).
 */
size_t		ax_tree_mark_dead(const AxTree *tree, const AxEntry *entries, size_t n) AX_NOEXCEPT;
AxStatus	ax_tree_stats(const AxTree *tree, AxTreeStats *stats, AxError *err);
bool		ax_tree_validate(const AxTree *tree, char *why, size_t whylen);

/*
 * ---------- the two trees of one index ----------
 *
 * Every loaded build has a tree of the entries with a key and a tree of the entries whose key
 * is NULL (AX_NULL_FLAG in the tid). The pair lives in the arena with them: its pointer is
 * valid in every process, and the registry and the arena image keep only it.
 */
typedef struct AxTreePair AxTreePair;	/* opaque; lives inside the arena */

/* Both trees with the same parameters; NULL with err set (AX_NOMEM: the arena is full). */
AxTreePair *ax_pair_create(void *arena, const AxTreeParams *params, AxError *err);
/* Frees both trees and the pair (NULL: nothing to do). A failure leaves arena space in use. */
AxStatus	ax_pair_destroy(void *arena, AxTreePair *pair, AxError *err);
/* values and nulls each sorted by (key, key_lo, tid). */
AxStatus	ax_pair_bulk_load(AxTreePair *pair, const AxEntry *values, size_t nvalues,
							  const AxEntry *nulls, size_t nnulls, AxError *err);
/*
 * The same from arrays the caller gives up: they are rewritten in place into the trees' own
 * entry layout (no copy), and hold nothing meaningful after.
 */
AxStatus	ax_pair_bulk_load_consuming(AxTreePair *pair, AxEntry *values, size_t nvalues,
										AxEntry *nulls, size_t nnulls, AxError *err);
/*
 * The same from a build's arrays: AxEntry when the pair is wide, AxNarrowEntry otherwise
 * (which the narrow trees take as they are, without a copy).
 */
AxStatus	ax_pair_bulk_load_build(AxTreePair *pair, const void *values, size_t nvalues,
									const void *nulls, size_t nnulls, AxError *err);
/*
 * entries[0, nvalues) have a key and entries[nvalues, n) are NULLs (alexidx_split_nulls's
 * order); both runs may be reordered in place. A failed insert may have inserted part of the
 * batch: erase it again.
 */
AxStatus	ax_pair_insert_batch(AxTreePair *pair, AxEntry *entries, size_t nvalues, size_t n,
								 AxError *err);
/*
 * The same split as ax_pair_insert_batch; *removed (may be NULL) counts what was found. On
 * failure some entries may be gone and others not: the caller must stop trusting the trees.
 */
AxStatus	ax_pair_erase_batch(AxTreePair *pair, AxEntry *entries, size_t nvalues, size_t n,
								size_t *removed, AxError *err);
/* The pair was made with AxTreeParams.wide. */
bool		ax_pair_is_wide(const AxTreePair *pair) AX_NOEXCEPT;
/* Entries in both trees. */
size_t		ax_pair_size(const AxTreePair *pair) AX_NOEXCEPT;
/* Bytes of the arena both trees hold (counted as they allocate: no walk). */
size_t		ax_pair_memory_bytes(const AxTreePair *pair) AX_NOEXCEPT;
/* ax_tree_copy_range on the NULLs' tree when nulls, else on the values' tree. */
size_t		ax_pair_copy_range(const AxTreePair *pair, bool nulls, AxKey lo, AxKey hi,
							   const AxEntry *resume, bool backward, bool skip_dead,
							   AxEntry *out, size_t max) AX_NOEXCEPT;
/* ax_tree_mark_dead, each entry on the tree that holds it (AX_NULL_FLAG: the NULLs'). */
size_t		ax_pair_mark_dead(const AxTreePair *pair, const AxEntry *entries, size_t n) AX_NOEXCEPT;
/*
 * entries, memory_bytes and the events count both trees; the shape (depth, nodes, search
 * distance) is the values' tree's.
 */
AxStatus	ax_pair_stats(const AxTreePair *pair, AxTreeStats *stats, AxError *err);
bool		ax_pair_validate(const AxTreePair *pair, char *why, size_t whylen);

/* ---------- sorting (ambuild) ---------- */

/* Sorts by (key, key_lo, tid); on failure (no memory for the radix buffer) the order is undefined. */
AxStatus	ax_sort_entries(AxEntry *entries, size_t n, AxError *err);
AxStatus	ax_sort_narrow_entries(AxNarrowEntry *entries, size_t n, AxError *err);

/*
 * Merges nruns arrays, each sorted as above, into out (room for the sum of lengths; it overlaps
 * none of them): a parallel build's runs, one a participant. Up to `threads` threads (started
 * with every signal blocked) merge parts of the key space side by side.
 */
AxStatus	ax_merge_entries(const AxEntry *const *runs, const size_t *lengths, int nruns,
							 AxEntry *out, int threads, AxError *err);
AxStatus	ax_merge_narrow_entries(const AxNarrowEntry *const *runs, const size_t *lengths,
									int nruns, AxNarrowEntry *out, int threads, AxError *err);

/* ---------- SST files written by a backend during ambuild ---------- */

typedef struct AxSstJob AxSstJob;

/*
 * Starts writing the build's entries into up to nparts SST files "<prefix>.<i>.sst" with
 * disjoint key ranges, on background threads. values and nulls (AxEntry when wide, else
 * AxNarrowEntry) are each sorted and must stay untouched until ax_sst_job_finish() or
 * ax_sst_job_free().
 */
AxSstJob   *ax_sst_write_async(const char *path_prefix, uint64_t build_id, bool wide,
								const void *values, size_t nvalues,
								const void *nulls, size_t nnulls,
								int nparts, AxError *err);
bool		ax_sst_job_done(AxSstJob *job);
/* Waits for the threads; *nfiles gets the number of files written. */
AxStatus	ax_sst_job_finish(AxSstJob *job, size_t *nfiles, AxError *err);
/* Stops the threads if needed and frees the job, removing its files when asked. */
void		ax_sst_job_free(AxSstJob *job, bool remove_files);

/* ---------- the sidecar database: only the sidecar worker calls these ---------- */

typedef struct AxDb AxDb;

/* What the sidecar remembers about each build, beside its entries. */
typedef struct AxBuildRecord
{
	uint64_t	build_id;
	uint32_t	dboid;
	uint32_t	spcoid;
	uint32_t	relfilenode;
	int32_t		backend;		/* -1, or the backend id of a temporary index */
	uint32_t	state;			/* AX_BUILD_* */
	uint32_t	incarnation;	/* worker start that created the record */
	char		persistence;	/* 'p', 'u' or 't' */
	char		pad[3];
	/* the tree's parameters, for rebuilding it after a restart (0: library default; records
	 * written before this field existed hold 0 here) */
	uint32_t	max_node_slots;
	/*
	 * A second place the index may live (alt_relfilenode 0: none), same database and
	 * backend: set while ALTER INDEX ... SET TABLESPACE commits, until the sweep sees which
	 * of the two files survived. Absent (zero) in records of the first, 40-byte format.
	 */
	uint32_t	alt_spcoid;
	uint32_t	alt_relfilenode;
	/*
	 * For a build made by copying another when CREATE DATABASE ... TEMPLATE copied its index:
	 * the build id that the copied metapage names (0: none). The index answers to it until
	 * its first use rewrites the metapage.
	 */
	uint64_t	origin_build_id;
	/*
	 * The transaction whose commit makes the build the index's (0: known committed). A
	 * crash leaves the relation files of unfinished transactions behind, metapage and all:
	 * only this tells the sweep that such a build is dead.
	 */
	uint32_t	creating_xid;
	uint32_t	flags;			/* AX_BUILD_FROM_WAL; 0 in records written before it existed */
} AxBuildRecord;

/* The record and entries came from the WAL (a standby), not from a build in this server. */
#define AX_BUILD_FROM_WAL 0x1
/* Keys are two words (a uuid index): entries carry key_lo, in the trees and in the sidecar. */
#define AX_BUILD_WIDE_KEYS 0x2

/* Records of the first format end before alt_spcoid; they are read with it zeroed. */
#define AX_BUILD_RECORD_V1_SIZE 40

#define AX_BUILD_BUILDING 1
#define AX_BUILD_READY 2

/* One part of a group-committed write: all entries of one request. */
typedef struct AxWritePart
{
	uint64_t	build_id;
	bool		is_delete;
	bool		wide;			/* the build's keys are two words (AX_BUILD_WIDE_KEYS) */
	const AxEntry *entries;
	size_t		n;
} AxWritePart;

/*
 * Opens (creating if needed) the sidecar. A database RocksDB reports as corrupt is moved
 * aside to "<dir>.corrupt-<n>" and a fresh one is created, so that REINDEX can rebuild the
 * indexes; *set_aside then names where it went (empty otherwise).
 */
AxDb	   *ax_db_open(const char *dir, char *set_aside, size_t set_aside_len, AxError *err);
/*
 * How many table files a sidecar opened after this call keeps open at once (RocksDB's
 * max_open_files; -1, the default: all of them). The worker, the one process that opens the
 * sidecar, sets it from its open-files limit before it opens one.
 */
void		ax_db_set_max_open_files(int n);
/*
 * Cancels background work and closes; db is freed in every case. write_clean_marker: record
 * "clean shutdown" first. A failure means the marker may be missing (the next start then
 * treats the stop as a crash, which is safe).
 */
AxStatus	ax_db_close(AxDb *db, bool write_clean_marker, uint64_t *final_sequence, AxError *err);
/*
 * RocksDB's latest sequence number: every write raises it. *final_sequence (ax_db_close, may
 * be NULL) is the value after the clean marker, 0 if the close failed; a database opened
 * later with the same value saw no write in between (the arena image relies on it).
 */
uint64_t	ax_db_sequence(AxDb *db) AX_NOEXCEPT;
/*
 * *clean: the previous run ended with ax_db_close(db, true, ...); consumes the marker. On
 * failure *clean is false: an unknown ending counts as a crash.
 */
AxStatus	ax_db_take_clean_marker(AxDb *db, bool *clean, AxError *err);
uint32_t	ax_db_next_incarnation(AxDb *db, AxError *err);
uint64_t	ax_db_new_build_id(AxDb *db, AxError *err);

AxStatus	ax_db_put_record(AxDb *db, const AxBuildRecord *rec, AxError *err);
AxStatus	ax_db_get_record(AxDb *db, uint64_t build_id, AxBuildRecord *rec, AxError *err);
/* Copies every entry of build from into the build to->build_id and stores *to (one synced
 * write per chunk; the record last, so that a copy cut short has no record). */
AxStatus	ax_db_copy_build(AxDb *db, uint64_t from, const AxBuildRecord *to, AxError *err);
/* Lists every record; returns the count (<= max stored). */
size_t		ax_db_list_records(AxDb *db, AxBuildRecord *out, size_t max, AxError *err);

/*
 * A request the write answers, noted in the same atomic batch as its entries: after a worker
 * restart, the next worker can tell whether a write whose answer was lost reached the sidecar.
 */
typedef struct AxWriteMark
{
	uint32_t	slot;			/* the request slot */
	uint64_t	request;		/* the request's id in that slot */
} AxWriteMark;

/*
 * One unsynced RocksDB write for all parts and marks: the request path of unlogged and
 * temporary indexes, which have no WAL (a crash empties them anyway).
 */
AxStatus	ax_db_write(AxDb *db, const AxWritePart *parts, size_t nparts,
						const AxWriteMark *marks, size_t nmarks, AxError *err);
/* The request id last marked for slot (0: none). */
AxStatus	ax_db_written_request(AxDb *db, uint32_t slot, uint64_t *request, AxError *err);
/*
 * Applies WAL records' entries and records lsn (where WAL reading resumes) in the same atomic
 * write, unsynced: the sidecar then holds exactly the WAL up to lsn. Parts of builds that have
 * no record (dropped) are skipped. Durable after ax_db_sync().
 */
AxStatus	ax_db_apply(AxDb *db, const AxWritePart *parts, size_t nparts, uint64_t lsn,
						uint32_t tli, AxError *err);
/* The lsn and timeline of the last ax_db_apply (0: never applied WAL; tli 0: not recorded). */
AxStatus	ax_db_applied_lsn(AxDb *db, uint64_t *lsn, uint32_t *tli, AxError *err);
/*
 * Writes a consistent image of the database to dir (which must not exist): a RocksDB
 * checkpoint, whose SST files are hard links. It holds every write so far.
 */
AxStatus	ax_db_snapshot(AxDb *db, const char *dir, AxError *err);
/* Reads every file of the database and checks its checksums (a snapshot about to be used). */
AxStatus	ax_db_verify(AxDb *db, AxError *err);
/* Build ids handed out from now on are at least floor. */
AxStatus	ax_db_raise_build_ids(AxDb *db, uint64_t floor, AxError *err);
/* Makes every write so far durable (syncs RocksDB's log). */
AxStatus	ax_db_sync(AxDb *db, AxError *err);
AxStatus	ax_db_ingest(AxDb *db, const char *const *files, size_t nfiles, AxError *err);
/* Deletes the build's entries and its record (one synced write); the range is compacted
 * in the background to return the space. */
AxStatus	ax_db_drop_build(AxDb *db, uint64_t build_id, bool keep_record, AxError *err);
/*
 * One step of rewriting a build's runs without the entries its tombstones hide (after large
 * deletes): the runs from *cursor on (from the first when !*started), about budget entries,
 * in one synced write. Moves *cursor to where the next step starts; *done after the last
 * step, which also queues a RocksDB compaction of the build's range to give the space back.
 * Steps may interleave with any writes: each covers whole runs and their tombstones.
 */
AxStatus	ax_db_compact_step(AxDb *db, uint64_t build_id, bool wide, AxEntry *cursor, bool *started,
							   size_t budget, bool *done, AxError *err);
/*
 * Up to max builds that took threshold or more tombstones (deleted entries) since the worker
 * started or since they were last returned here: the builds to compact, so that a steady
 * churn of small VACUUMs (none of which asks for a compaction) does not pile tombstones up.
 */
size_t		ax_db_compactions_due(AxDb *db, uint64_t threshold, uint64_t *builds, size_t max) AX_NOEXCEPT;
/* Reads all of a build's entries and bulk-loads them into the pair's two trees. */
/* *entries gets how many entries the build has (also when the trees could not take them) */
AxStatus	ax_db_load_tree(AxDb *db, uint64_t build_id, AxTreePair *pair, size_t *entries, AxError *err);
/* Compares the build's entries with the trees; AX_CORRUPT with a message on mismatch. */
AxStatus	ax_db_compare_tree(AxDb *db, uint64_t build_id, const AxTreePair *pair,
							   uint64_t *nsidecar, AxError *err);
/* Approximate bytes on disk and in memtables of one build. */
AxStatus	ax_db_build_bytes(AxDb *db, uint64_t build_id, uint64_t *bytes, AxError *err);

#ifdef __cplusplus
}
#endif

#endif							/* ALEXIDX_ENGINE_H */
