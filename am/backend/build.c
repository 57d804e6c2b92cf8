/*
 * build.c: CREATE INDEX (ambuild) and the init fork of unlogged indexes (ambuildempty).
 *
 * One pass over the heap (build_scan.c, with parallel workers when PostgreSQL would give a
 * btree build some) collects and sorts the (key, TID) pairs; the sorted run then feeds both
 * the shared-memory trees (bulk load, in this backend) and SST files (encoded meanwhile on
 * background threads) that the sidecar worker ingests before CREATE INDEX returns.
 *
 * The sort runs in memory rather than through tuplesort: the whole index has to fit in the
 * shared arena anyway, and an in-memory radix sort of 16-byte pairs is several times faster
 * than sorting index tuples.
 */
#include "postgres.h"

#include "access/xlog.h"

#include <unistd.h>

#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "backend/build_scan.h"
#include "wal/wal.h"

/* SST files written in parallel; two cores are the norm this is tuned for */
#define SST_PARTS 2

/*
 * The SST threads read the build's sorted arrays, so they must stop before that memory goes.
 * An ERROR passes through alexidx_build's PG_CATCH, but a FATAL exit (pg_terminate_backend,
 * the postmaster's death in the wait below) frees the memory while aborting the transaction
 * and never unwinds to it. A reset callback on the arrays' memory context catches every way
 * the memory can go: it runs before the context's blocks are freed.
 */
typedef struct SstJobOwner
{
	AxSstJob   *job;
	MemoryContextCallback callback;
} SstJobOwner;

static void
stop_sst_job(void *arg)
{
	SstJobOwner *owner = (SstJobOwner *) arg;

	/* cancels, joins the threads and removes the files they wrote */
	ax_sst_job_free(owner->job, true);
	owner->job = NULL;
}

/* Waits for the SST threads without blocking query cancel. */
static size_t
finish_sst_job(Relation index, AxSstJob *job)
{
	AxError		err;
	size_t		nfiles;

	while (!ax_sst_job_done(job))
	{
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
	}
	if (ax_sst_job_finish(job, &nfiles, &err) != AX_OK)
		alexidx_report(&err, "could not write the build's SST files", index);
	return nfiles;
}

/* Refuses an index alexidx cannot build; returns its key type. */
static Oid
check_buildable(Relation index)
{
	Oid			keytype;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	keytype = alexidx_index_key_type(index);
	if (!alexidx_type_supported(keytype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alexidx does not support type %s", format_type_be(keytype))));

	if (index->rd_indoption[0] != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alexidx indexes are always ascending with NULLS LAST"),
				 errhint("Drop DESC and NULLS FIRST from the index definition: a backward scan of the "
						 "index serves ORDER BY ... DESC NULLS FIRST.")));

	/* the sidecar worker needs a replication slot to follow the WAL, and slots need replica */
	if (alexidx_index_is_logged(index) && wal_level < WAL_LEVEL_REPLICA)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("alexidx indexes need wal_level = replica or logical"),
				 errdetail("PostgreSQL's WAL is the log of record of an alexidx index, and a replication slot keeps it until the sidecar has applied it."),
				 errhint("Set wal_level = replica in postgresql.conf and restart the server.")));
	return keytype;
}

/* A logged index logs its sorted entries, for standbys. */
static void
log_entries(Relation index, uint64 build_id, AxBuildEntries *entries)
{
	if (!alexidx_index_is_logged(index))
		return;
	alexidx_wal_log_build_entries(index, build_id, entries->values.items, entries->values.n,
								  entries->values.wide);
	alexidx_wal_log_build_entries(index, build_id, entries->nulls.items, entries->nulls.n,
								  entries->nulls.wide);
}

/*
 * The sorted runs feed two consumers at once: background threads encode them into SST
 * files while this backend logs them (a logged index) and bulk-loads the shared trees.
 * Returns with the trees loaded and the files ingested by the sidecar; *logged is when the
 * entries were logged, *loaded when the trees were loaded.
 */
static void
load_and_ingest(Relation index, uint64 build_id, AxBuildRecord *record, AxBuildEntries *bs,
				AxTreePair **pair_out, instr_time *logged, instr_time *loaded)
{
	/* set in the PG_TRY block and read in its PG_CATCH: volatile, or the catch may see NULL */
	AxTreePair *volatile pair;
	AxSstJob   *job;
	SstJobOwner *owner;
	AxError		err;
	AxStatus	st;
	bool		reclaimed;
	Size		wanted = (bs->values.n + bs->nulls.n) * alexidx_arena_bytes_per_entry(index);
	char	   *prefix;
	size_t		nfiles = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_LOAD);
	prefix = psprintf("%s/" UINT64_FORMAT, alexidx_ingest_dir(), build_id);
	/* the arrays were allocated in CurrentMemoryContext; the owner is ready before the threads */
	owner = palloc0(sizeof(SstJobOwner));
	owner->callback.func = stop_sst_job;
	owner->callback.arg = owner;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &owner->callback);
	job = ax_sst_write_async(prefix, build_id, bs->values.wide,
							 bs->values.items, bs->values.n,
							 bs->nulls.items, bs->nulls.n, SST_PARTS, &err);
	if (job == NULL)
		alexidx_report(&err, "could not start writing the build's SST files", index);
	owner->job = job;
	pair = NULL;
	PG_TRY();
	{
		/* the WAL goes out while the threads encode: they use the core this backend leaves */
		log_entries(index, build_id, bs);
		INSTR_TIME_SET_CURRENT(*logged);
		alexidx_arena_make_room(wanted);
		for (reclaimed = false;; reclaimed = true)
		{
			pair = alexidx_new_pair(index, bs->values.n + bs->nulls.n);
			st = ax_pair_bulk_load_build(pair, bs->values.items, bs->values.n, bs->nulls.items,
										 bs->nulls.n, &err);

			/*
			 * As in flush_buffer: make_room's estimate is rough, and the memory may be free
			 * but in pieces between trees that a sweep would drop. A fresh pair for the second
			 * try (a values tree loaded before the NULLs failed would stay beside its
			 * replacement).
			 */
			if (st != AX_NOMEM || reclaimed || !alexidx_arena_reclaim())
				break;
			alexidx_destroy_pair(pair);
			pair = NULL;
		}
		if (st != AX_OK)
		{
			if (err.status == AX_NOMEM)
				alexidx_report_arena_full(index, wanted);
			alexidx_report(&err, "could not load the tree", index);
		}
		INSTR_TIME_SET_CURRENT(*loaded);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_SIDECAR);
		nfiles = finish_sst_job(index, job);
		alexidx_sidecar_ingest(index, build_id, prefix, (int) nfiles);
		if (alexidx_index_is_logged(index))
		{
			record->state = AX_BUILD_READY;
			alexidx_wal_log_build(XLOG_ALEXIDX_BUILD_READY, record);
		}
	}
	PG_CATCH();
	{
		stop_sst_job(owner);
		alexidx_destroy_pair(pair);
		PG_RE_THROW();
	}
	PG_END_TRY();
	ax_sst_job_free(job, false);
	owner->job = NULL;
	*pair_out = pair;
}

IndexBuildResult *
alexidx_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	AxBuildEntries bs;
	Oid			keytype;
	int			nworkers;
	double		reltuples;
	uint64		build_id;
	AxBuildRecord record;
	AxTreePair *pair;
	instr_time	start,
				t_scan,
				t_logged,
				t_sidecar,
				t_load;

	alexidx_require_preload();
	keytype = check_buildable(index);

	/* The sidecar records the build first, so a failure anywhere after leaves no orphan. */
	build_id = alexidx_sidecar_new_build(index, &record);
	alexidx_note_build(build_id);
	/* a standby makes the build from the WAL: its record, its entries, then its end */
	if (alexidx_index_is_logged(index))
		alexidx_wal_log_build(XLOG_ALEXIDX_BUILD_CREATE, &record);
	alexidx_write_metapage(index, MAIN_FORKNUM, build_id);

	INSTR_TIME_SET_CURRENT(start);
	reltuples = alexidx_build_scan(heap, index, indexInfo, keytype, &bs, &nworkers);
	INSTR_TIME_SET_CURRENT(t_scan);
	load_and_ingest(index, build_id, &record, &bs, &pair, &t_logged, &t_sidecar);
	if (!alexidx_register_pair(build_id, index->rd_node.dbNode, pair))
		alexidx_report_too_many();
	INSTR_TIME_SET_CURRENT(t_load);
	INSTR_TIME_SUBTRACT(t_load, t_sidecar);
	INSTR_TIME_SUBTRACT(t_sidecar, t_logged);
	/* t_sidecar now holds the tree loads; t_load the wait for the SST files and ingestion */
	INSTR_TIME_SUBTRACT(t_logged, t_scan);
	INSTR_TIME_SUBTRACT(t_scan, start);
	ereport(DEBUG1,
			(errmsg("alexidx build of \"%s\": %zu entries, %d parallel workers; scan and sort %.0f ms, WAL %.0f ms, tree %.0f ms, sidecar wait %.0f ms",
					RelationGetRelationName(index), bs.values.n + bs.nulls.n, nworkers,
					INSTR_TIME_GET_MILLISEC(t_scan), INSTR_TIME_GET_MILLISEC(t_logged),
					INSTR_TIME_GET_MILLISEC(t_sidecar), INSTR_TIME_GET_MILLISEC(t_load))));

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = (double) (bs.values.n + bs.nulls.n);
	pfree(bs.values.items);
	pfree(bs.nulls.items);
	return result;
}

/* The init fork of an unlogged index names the same build; after a crash the sidecar
 * worker empties that build, so the reset index is empty like its table. */
void
alexidx_buildempty(Relation index)
{
	alexidx_write_metapage(index, INIT_FORKNUM, alexidx_read_build_id(index));
}

char *
alexidx_buildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case ALEXIDX_PHASE_SORT:
			return "sorting keys";
		case ALEXIDX_PHASE_LOAD:
			return "loading the shared-memory tree";
		case ALEXIDX_PHASE_SIDECAR:
			return "writing the sidecar";
		default:
			return NULL;
	}
}
