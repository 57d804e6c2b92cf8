/*
 * ipc.h: what the processes of alexidx share in PostgreSQL's shared memory besides the trees:
 * the request slots through which backends ask the sidecar worker for work, the worker's
 * state, and the WAL positions it publishes (AxShared). Included only by the files that use
 * them; everything else goes through the functions of alexidx.h.
 */
#ifndef ALEXIDX_IPC_H
#define ALEXIDX_IPC_H

#include "alexidx.h"

#define AX_INLINE_ENTRIES 512
#define AX_MAX_DROP_NOTICES 256
#define AX_MAX_COMPACT_NOTICES 64

typedef enum AxRequestType
{
	AXR_WRITE = 1,				/* put entries (group-committed) */
	AXR_DELETE,					/* delete entries (group-committed) */
	AXR_NEW_BUILD,				/* allocate a build id and record it */
	AXR_INGEST,					/* ingest an SST file, mark the build ready */
	AXR_BUILD_READY,			/* mark the build ready (no file to ingest) */
	AXR_LOAD,					/* load a build's tree into shared memory */
	AXR_SIZE,					/* report a build's sidecar bytes */
	AXR_CHECK,					/* compare a build's tree with the sidecar */
	AXR_LIST,					/* list build records after build_id, one page */
	AXR_RELOCATE,				/* the build's index may now live at record's location */
	AXR_COPY_DATABASE,			/* copy the builds of database build_id to record.dboid */
	AXR_RESOLVE,				/* which build is metapage id build_id in record.dboid? */
	AXR_STAGE,					/* keep these entries for this slot's next AXR_WRITE */
	AXR_SWEEP					/* drop the builds whose index is gone, now */
} AxRequestType;

/*
 * Requests carry at most AX_REQUEST_MAX_ENTRIES entries (1.5 MB of 24-byte entries), so that no request needs a
 * large dynamic shared memory segment (/dev/shm is 64 MB in a default Docker container) and
 * no single write holds the group commit up for long. A larger insert flush goes as AXR_STAGE
 * chunks and a final AXR_WRITE with AXF_STAGED, which the worker writes in one batch: the
 * sidecar gets all of the flush or none of it. Deletes are split into independent requests.
 */
#define AX_REQUEST_MAX_ENTRIES 65536
/* VACUUM's chunks are smaller: commits grouped with one wait for its write (about 10 ms) */
#define AX_DELETE_CHUNK_ENTRIES 8192
#define AXF_FIRST_CHUNK 0x1		/* AXR_STAGE: forget what this slot staged before */
#define AXF_STAGED 0x2			/* AXR_WRITE: the slot's staged entries come first */
#define AXF_WIDE 0x4			/* AXR_WRITE, AXR_DELETE: the build's keys are two words */

/*
 * FREE -> PENDING (the backend) -> TAKEN (the worker, by compare-and-swap) -> DONE (the
 * worker's answer) -> FREE (the backend). A backend that gives up on a request still PENDING
 * takes it back (PENDING -> FREE, by compare-and-swap): no worker ever serves it. A TAKEN
 * request whose worker died stays TAKEN (it may be written already: no backend may take it
 * back), and the next worker serves it first (anew, or, for a write whose staged part died
 * with the old worker, by asking the sidecar's marks whether it was written).
 */
typedef enum AxSlotState
{
	AXS_FREE = 0,
	AXS_PENDING,
	AXS_TAKEN,
	AXS_DONE
} AxSlotState;

typedef struct AxRequestSlot
{
	pg_atomic_uint32 state;
	int			type;
	uint64		build_id;
	Latch	   *latch;			/* the requester's, set when done */
	AxBuildRecord record;		/* AXR_NEW_BUILD */
	char		path[MAXPGPATH];	/* AXR_INGEST */
	uint32		nentries;
	uint32		flags;			/* AXF_* */
	uint64		request;		/* the request's id: grows with each request of the slot */
	uint64		staged_before;	/* AXR_STAGE, AXR_WRITE with AXF_STAGED: entries staged before it */
	dsm_handle	dsm;			/* entries live here when nentries > AX_INLINE_ENTRIES */
	/* the answer */
	int			status;			/* AxStatus */
	char		message[512];
	uint64		result;
	AxEntry		inline_entries[AX_INLINE_ENTRIES];
} AxRequestSlot;

typedef enum AxWorkerState
{
	AXW_STARTING = 0,
	AXW_RUNNING,
	AXW_FAILED
} AxWorkerState;

typedef struct AxShared
{
	LWLock	   *registry_lock;	/* guards the registry hash */
	int			index_tranche;	/* tranche of the per-index locks */
	pg_atomic_uint32 worker_state;
	pg_atomic_uint32 test_exit_fired;	/* alexidx.test_worker_exit fired since it was last 0 */
	/* ambulkdelete calls that finished, in any index: see speculative.c */
	pg_atomic_uint64 bulkdeletes_finished;
	Latch	   *worker_latch;
	uint32		incarnation;
	/*
	 * Following the WAL (wal_follow.c): the sidecar holds the WAL before applied_lsn, and
	 * durably before durable_lsn; the worker's replication slot keeps the WAL from there.
	 */
	pg_atomic_uint64 applied_lsn;
	pg_atomic_uint64 durable_lsn;
	/*
	 * On a standby, the position the worker started from (its sidecar's). A standby that
	 * restarted after a crash replays again from its last restartpoint, which may be behind
	 * it: until the replay gets there, the trees (loaded from the sidecar) hold entries of rows
	 * the heap does not have yet, or no longer entries of rows it still has. 0 elsewhere.
	 */
	pg_atomic_uint64 standby_trees_from;
	/*
	 * On a hot standby, where the replay was when it began a VACUUM_DONE record's redo (the
	 * newest): the DELETE records before it are there. An index-only scan's chunk must not be
	 * copied before the worker has applied them (standby.c).
	 */
	pg_atomic_uint64 standby_vacuum_done_lsn;
	/* the LSN of the newest snapshot in pg_alexidx (0: none), for alexidx_status() */
	pg_atomic_uint64 snapshot_lsn;
	/* 1 while only the worker may change trees: on a standby, and just after a promotion */
	pg_atomic_uint32 worker_owns_trees;
	char		worker_error[512];
	void	   *arena;
	Size		arena_size;
	/* the arena holds trees kept at the last clean shutdown, not yet taken (arena_file.c) */
	bool		arena_kept;
	/* the worker decided to take them (a worker that dies meanwhile is followed by one that finishes) */
	bool		arena_taking;
	/*
	 * 1 once the memfd holds the arena. Until then the processes map the image of the last
	 * clean shutdown read-only in its place and only read trees; each maps the memfd over it
	 * at its next use of a tree after this is set (alexidx_arena_follow).
	 */
	pg_atomic_uint32 arena_in_memfd;
	/* RocksDB's sequence number when the worker closed the sidecar cleanly (0: it did not) */
	uint64		sidecar_closed_at;
	/* builds to drop, posted without waiting (abort and commit callbacks) */
	slock_t		notice_mutex;
	int			nnotices;
	uint64		notices[AX_MAX_DROP_NOTICES];
	/*
	 * Builds to compact once the sidecar holds the WAL before compact_after[i] (VACUUM's
	 * removals), posted without waiting; also under notice_mutex.
	 */
	int			ncompact_notices;
	uint64		compact_builds[AX_MAX_COMPACT_NOTICES];
	XLogRecPtr	compact_after[AX_MAX_COMPACT_NOTICES];
	int			nslots;
	AxRequestSlot slots[FLEXIBLE_ARRAY_MEMBER];
} AxShared;

extern AxShared *alexidx_shared;
extern HTAB *alexidx_registry;

/* One page of alexidx_sidecar_list(): as many build records as a slot's inline entries hold. */
#define AX_LIST_MAX ((int) (sizeof(AxEntry) * AX_INLINE_ENTRIES / sizeof(AxBuildRecord)))

#endif							/* ALEXIDX_IPC_H */
