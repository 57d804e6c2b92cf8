/*
 * build_scan.c: CREATE INDEX's pass over the heap, which collects every (key, TID) pair and
 * sorts them, in this backend alone or with parallel workers.
 *
 * Why workers: the scan is over half of a build (10M rows: scan 55%, sort 19%, tree 23%), and
 * PostgreSQL 15 hands parallel workers to nbtree builds only. So alexidx runs its own parallel
 * context when PostgreSQL would give a btree build of the same index workers
 * (plan_create_index_workers: max_parallel_maintenance_workers, the table's size and
 * parallel_workers, maintenance_work_mem, parallel-safe expressions). Each participant, the
 * leader too, scans the blocks a parallel table scan gives it and sorts what it collected. A
 * worker writes its sorted run to a file of a shared file set; the leader reads the runs back
 * and merges them with its own. Files rather than dynamic shared memory, as btree does: a
 * small /dev/shm cannot fail the build, and PostgreSQL removes the files with the parallel
 * context, on error too.
 */
#include "postgres.h"

#include <fcntl.h>

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/fileset.h"
#include "storage/sharedfileset.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"
#include "utils/snapmgr.h"

#include "alexidx.h"
#include "backend/build_scan.h"

/* threads merging the runs; two cores are the norm this is tuned for, as in build.c */
#define MERGE_THREADS 2

/* the parallel context's table of contents */
#define BUILD_KEY_SHARED		UINT64CONST(0xA1E1D0B000000001)
#define BUILD_KEY_TABLE_SCAN	UINT64CONST(0xA1E1D0B000000002)
#define BUILD_KEY_QUERY_TEXT	UINT64CONST(0xA1E1D0B000000003)
#define BUILD_KEY_BUFFER_USAGE	UINT64CONST(0xA1E1D0B000000004)
#define BUILD_KEY_WAL_USAGE		UINT64CONST(0xA1E1D0B000000005)

/* What a worker reports of its run; set under the mutex when its file is complete. */
typedef struct WorkerRun
{
	bool		written;
	Size		nvalues;
	Size		nnulls;
} WorkerRun;

typedef struct BuildShared
{
	/* set by the leader before the workers start */
	Oid			heaprelid;
	Oid			indexrelid;
	Oid			keytype;
	bool		isconcurrent;
	SharedFileSet fileset;

	slock_t		mutex;
	/* the workers' sums, under the mutex */
	double		reltuples;
	bool		brokenhotchain;
	WorkerRun	runs[FLEXIBLE_ARRAY_MEMBER];	/* one per requested worker */
} BuildShared;

/* The leader's handle on its workers. */
typedef struct ParallelBuild
{
	ParallelContext *pcxt;
	BuildShared *shared;
	ParallelTableScanDesc table_scan;
	Snapshot	snapshot;
	BufferUsage *buffer_usage;
	WalUsage   *wal_usage;
} ParallelBuild;

/* ---------- collecting and sorting ---------- */

static inline Size
array_elem(const AxEntryArray *a)
{
	return a->wide ? sizeof(AxEntry) : sizeof(AxNarrowEntry);
}

static void
array_init(AxEntryArray *a, Size cap, bool wide)
{
	a->cap = cap;
	a->n = 0;
	a->wide = wide;
	a->items = palloc_extended(cap * array_elem(a), MCXT_ALLOC_HUGE);
}

static inline void
array_push(AxEntryArray *a, AxKey key, uint64 tid)
{
	if (a->n == a->cap)
		a->items = alexidx_grow(a->items, &a->cap, a->n + 1, array_elem(a), 0, NULL);
	if (a->wide)
	{
		AxEntry    *e = (AxEntry *) a->items + a->n;

		e->key = key.key;
		e->key_lo = key.key_lo;
		e->tid = tid;
	}
	else
	{
		AxNarrowEntry *e = (AxNarrowEntry *) a->items + a->n;

		e->key = key.key;
		e->tid = tid;
	}
	a->n++;
}

static void
entries_init(AxBuildEntries *entries, Oid keytype)
{
	entries->keytype = keytype;
	array_init(&entries->values, 1024, alexidx_type_wide(keytype));
	array_init(&entries->nulls, 16, alexidx_type_wide(keytype));
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	AxBuildEntries *entries = (AxBuildEntries *) state;

	if (isnull[0])
	{
		AxKey		none = {0, 0};

		array_push(&entries->nulls, none, alexidx_tid_pack(tid, true));
	}
	else
		array_push(&entries->values, alexidx_datum_to_key(values[0], entries->keytype),
				   alexidx_tid_pack(tid, false));
}

static void
array_sort(AxEntryArray *a, Relation index)
{
	AxError		err;
	AxStatus	st;

	st = a->wide ? ax_sort_entries(a->items, a->n, &err) : ax_sort_narrow_entries(a->items, a->n, &err);
	if (st != AX_OK)
		alexidx_report(&err, "could not sort the build's entries", index);
}

static void
entries_sort(AxBuildEntries *entries, Relation index)
{
	array_sort(&entries->values, index);
	array_sort(&entries->nulls, index);
}

/* ---------- a worker's run, through the shared file set ---------- */

static void
run_file_name(char *name, int worker)
{
	snprintf(name, MAXPGPATH, "alexidx-build-run-%d", worker);
}

/*
 * A run's file is written and read whole, in calls of up to 1GB: no 8kB buffer to copy through
 * (as BufFile has), so the leader reads a worker's run back at the speed of one copy out of the
 * page cache.
 */
#define RUN_IO_CHUNK	((Size) 1 << 30)

static void
write_all(File file, const void *data, Size len, off_t *offset)
{
	while (len > 0)
	{
		int			amount = (int) Min(len, RUN_IO_CHUNK);
		int			done;

		errno = 0;
		done = FileWrite(file, (char *) data, amount, *offset, WAIT_EVENT_BUFFILE_WRITE);
		if (done <= 0)
		{
			/* a short write without an error is a full disk */
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write the build's sorted run to file \"%s\": %m",
							FilePathName(file))));
		}
		data = (const char *) data + done;
		len -= done;
		*offset += done;
	}
}

static void
read_all(File file, void *data, Size len, off_t *offset)
{
	while (len > 0)
	{
		int			amount = (int) Min(len, RUN_IO_CHUNK);
		int			done = FileRead(file, (char *) data, amount, *offset, WAIT_EVENT_BUFFILE_READ);

		if (done < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read the build's sorted run from file \"%s\": %m",
							FilePathName(file))));
		if (done == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the build's sorted run in file \"%s\" ends %zu bytes early",
							FilePathName(file), len)));
		data = (char *) data + done;
		len -= done;
		*offset += done;
	}
}

static void
write_array(File file, const AxEntryArray *a, off_t *offset)
{
	write_all(file, a->items, a->n * array_elem(a), offset);
}

static void
read_array(File file, AxEntryArray *a, Size n, bool wide, off_t *offset)
{
	array_init(a, Max(n, 1), wide);
	read_all(file, a->items, n * array_elem(a), offset);
	a->n = n;
}

/* ---------- the worker ---------- */

void
alexidx_build_worker_main(dsm_segment *seg, shm_toc *toc)
{
	BuildShared *shared = shm_toc_lookup(toc, BUILD_KEY_SHARED, false);
	ParallelTableScanDesc table_scan = shm_toc_lookup(toc, BUILD_KEY_TABLE_SCAN, false);
	BufferUsage *buffer_usage = shm_toc_lookup(toc, BUILD_KEY_BUFFER_USAGE, false);
	WalUsage   *wal_usage = shm_toc_lookup(toc, BUILD_KEY_WAL_USAGE, false);
	LOCKMODE	heap_lock;
	LOCKMODE	index_lock;
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;
	AxBuildEntries entries;
	double		reltuples;
	char		name[MAXPGPATH];
	File		file;
	off_t		offset = 0;
	WorkerRun  *run = &shared->runs[ParallelWorkerNumber];

	debug_query_string = shm_toc_lookup(toc, BUILD_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	/* the leader holds these locks already (index.c takes them); the lock group shares them */
	heap_lock = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	index_lock = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	heap = table_open(shared->heaprelid, heap_lock);
	index = index_open(shared->indexrelid, index_lock);
	SharedFileSetAttach(&shared->fileset, seg);
	InstrStartParallelQuery();

	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = shared->isconcurrent;
	entries_init(&entries, shared->keytype);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, false, build_callback, &entries,
									   table_beginscan_parallel(heap, table_scan));
	entries_sort(&entries, index);

	run_file_name(name, ParallelWorkerNumber);
	file = FileSetCreate(&shared->fileset.fs, name);
	write_array(file, &entries.values, &offset);
	write_array(file, &entries.nulls, &offset);
	FileClose(file);

	SpinLockAcquire(&shared->mutex);
	shared->reltuples += reltuples;
	shared->brokenhotchain |= indexInfo->ii_BrokenHotChain;
	run->nvalues = entries.values.n;
	run->nnulls = entries.nulls.n;
	run->written = true;
	SpinLockRelease(&shared->mutex);

	InstrEndParallelQuery(&buffer_usage[ParallelWorkerNumber], &wal_usage[ParallelWorkerNumber]);
	index_close(index, index_lock);
	table_close(heap, heap_lock);
}

/* ---------- the leader ---------- */

/*
 * As many workers as PostgreSQL would give a btree build of this index. An empty heap gets
 * none: besides there being nothing to share, that is TRUNCATE's rebuild, for which
 * index_build asks for no workers (it cannot tell an access method other than btree so).
 */
static int
workers_to_request(Relation heap, Relation index)
{
	if (!IsNormalProcessingMode() || IsInParallelMode() || RelationGetNumberOfBlocks(heap) == 0)
		return 0;
	return plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
}

static void
end_parallel(ParallelBuild *pb)
{
	DestroyParallelContext(pb->pcxt);
	if (IsMVCCSnapshot(pb->snapshot))
		UnregisterSnapshot(pb->snapshot);
	ExitParallelMode();
}

/* Starts the workers; NULL if none could be had (the caller scans alone). */
static ParallelBuild *
begin_parallel(Relation heap, Relation index, IndexInfo *indexInfo, Oid keytype, int request)
{
	ParallelBuild *pb = palloc0(sizeof(ParallelBuild));
	ParallelContext *pcxt;
	Size		shared_size;
	Size		table_scan_size;
	Size		query_len = debug_query_string ? strlen(debug_query_string) : 0;
	BuildShared *shared;

	EnterParallelMode();
	pb->pcxt = pcxt = CreateParallelContext("alexidx", "alexidx_build_worker_main", request);
	/* a non-concurrent build indexes every tuple not yet dead to all, as a serial scan does */
	pb->snapshot = indexInfo->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	shared_size = add_size(offsetof(BuildShared, runs), mul_size(sizeof(WorkerRun), request));
	table_scan_size = table_parallelscan_estimate(heap, pb->snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, table_scan_size);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(BufferUsage), request));
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(WalUsage), request));
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	if (query_len > 0)
	{
		shm_toc_estimate_chunk(&pcxt->estimator, query_len + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no dynamic shared memory segment could be had: scan alone */
		end_parallel(pb);
		return NULL;
	}

	shared = pb->shared = shm_toc_allocate(pcxt->toc, shared_size);
	memset(shared, 0, shared_size);
	shared->heaprelid = RelationGetRelid(heap);
	shared->indexrelid = RelationGetRelid(index);
	shared->keytype = keytype;
	shared->isconcurrent = indexInfo->ii_Concurrent;
	SpinLockInit(&shared->mutex);
	SharedFileSetInit(&shared->fileset, pcxt->seg);
	shm_toc_insert(pcxt->toc, BUILD_KEY_SHARED, shared);

	pb->table_scan = shm_toc_allocate(pcxt->toc, table_scan_size);
	table_parallelscan_initialize(heap, pb->table_scan, pb->snapshot);
	shm_toc_insert(pcxt->toc, BUILD_KEY_TABLE_SCAN, pb->table_scan);

	pb->buffer_usage = shm_toc_allocate(pcxt->toc, mul_size(sizeof(BufferUsage), request));
	shm_toc_insert(pcxt->toc, BUILD_KEY_BUFFER_USAGE, pb->buffer_usage);
	pb->wal_usage = shm_toc_allocate(pcxt->toc, mul_size(sizeof(WalUsage), request));
	shm_toc_insert(pcxt->toc, BUILD_KEY_WAL_USAGE, pb->wal_usage);

	if (query_len > 0)
	{
		char	   *query = shm_toc_allocate(pcxt->toc, query_len + 1);

		memcpy(query, debug_query_string, query_len + 1);
		shm_toc_insert(pcxt->toc, BUILD_KEY_QUERY_TEXT, query);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		end_parallel(pb);
		return NULL;
	}
	/* as in btree builds: a worker that cannot start fails the build now, not after the scan */
	WaitForParallelWorkersToAttach(pcxt);
	return pb;
}

/*
 * Merges the runs of the launched workers with the leader's own (in *entries) into *entries.
 * Every worker has finished.
 */
static void
merge_runs(ParallelBuild *pb, Relation index, AxBuildEntries *entries)
{
	int			nruns = pb->pcxt->nworkers_launched + 1;
	AxEntryArray *values = palloc(sizeof(AxEntryArray) * nruns);
	AxEntryArray *nulls = palloc(sizeof(AxEntryArray) * nruns);
	const void **items = palloc(sizeof(void *) * nruns);
	size_t	   *lengths = palloc(sizeof(size_t) * nruns);
	bool		wide = entries->values.wide;

	values[0] = entries->values;
	nulls[0] = entries->nulls;
	for (int w = 0; w < nruns - 1; w++)
	{
		WorkerRun  *run = &pb->shared->runs[w];
		char		name[MAXPGPATH];
		File		file;
		off_t		offset = 0;

		if (!run->written)
			elog(ERROR, "parallel worker %d of the alexidx build finished without its sorted run", w);
		run_file_name(name, w);
		file = FileSetOpen(&pb->shared->fileset.fs, name, O_RDONLY);
		read_array(file, &values[w + 1], run->nvalues, wide, &offset);
		read_array(file, &nulls[w + 1], run->nnulls, wide, &offset);
		FileClose(file);
	}

	for (int part = 0; part < 2; part++)
	{
		AxEntryArray *runs = part == 0 ? values : nulls;
		AxEntryArray merged;
		Size		total = 0;
		AxError		err;
		AxStatus	st;

		for (int r = 0; r < nruns; r++)
		{
			items[r] = runs[r].items;
			lengths[r] = runs[r].n;
			total += runs[r].n;
		}
		array_init(&merged, Max(total, 1), wide);
		st = wide ? ax_merge_entries((const AxEntry *const *) items, lengths, nruns, merged.items,
							   MERGE_THREADS, &err)
			: ax_merge_narrow_entries((const AxNarrowEntry *const *) items, lengths, nruns,
									  merged.items, MERGE_THREADS, &err);
		if (st != AX_OK)
			alexidx_report(&err, "could not merge the parallel build's sorted runs", index);
		merged.n = total;
		for (int r = 0; r < nruns; r++)
			pfree(runs[r].items);
		if (part == 0)
			entries->values = merged;
		else
			entries->nulls = merged;
	}
}

double
alexidx_build_scan(Relation heap, Relation index, IndexInfo *indexInfo, Oid keytype,
				   AxBuildEntries *entries, int *nworkers)
{
	int			request = workers_to_request(heap, index);
	ParallelBuild *pb = request > 0 ? begin_parallel(heap, index, indexInfo, keytype, request) : NULL;
	double		reltuples;

	entries_init(entries, keytype);
	*nworkers = 0;
	if (pb == NULL)
	{
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true, build_callback,
										   entries, NULL);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_SORT);
		entries_sort(entries, index);
		return reltuples;
	}

	/* the leader takes part, as in btree builds, unless parallel_leader_participation is off */
	reltuples = 0;
	if (parallel_leader_participation)
	{
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true, build_callback,
										   entries, table_beginscan_parallel(heap, pb->table_scan));
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_SORT);
		entries_sort(entries, index);
	}
	WaitForParallelWorkersToFinish(pb->pcxt);
	for (int w = 0; w < pb->pcxt->nworkers_launched; w++)
		InstrAccumParallelQuery(&pb->buffer_usage[w], &pb->wal_usage[w]);
	reltuples += pb->shared->reltuples;
	/* a broken HOT chain seen by any participant makes the index wait for older snapshots */
	if (pb->shared->brokenhotchain)
		indexInfo->ii_BrokenHotChain = true;
	merge_runs(pb, index, entries);
	*nworkers = pb->pcxt->nworkers_launched;
	end_parallel(pb);
	return reltuples;
}
