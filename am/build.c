/*
 * build.c: CREATE INDEX (ambuild) and the init fork of unlogged indexes (ambuildempty).
 *
 * One pass over the heap collects (key, TID) pairs; one sort orders them; the sorted run then
 * feeds both the shared-memory tree (bulk load) and an SST file that the sidecar worker
 * ingests before CREATE INDEX returns.
 *
 * The sort runs in memory rather than through tuplesort: the whole index has to fit in the
 * shared arena anyway, and an in-memory radix sort of 16-byte pairs is several times faster
 * than sorting index tuples.
 */
#include "postgres.h"

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

#define SST_CHUNK 65536

typedef struct BuildState
{
	Oid			keytype;
	AxEntry    *entries;
	Size		n;
	Size		cap;
} BuildState;

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	BuildState *bs = (BuildState *) state;

	if (bs->n == bs->cap)
	{
		bs->cap *= 2;
		bs->entries = repalloc_huge(bs->entries, bs->cap * sizeof(AxEntry));
	}
	bs->entries[bs->n].key = isnull[0] ? 0 : alexidx_datum_to_key(values[0], bs->keytype);
	bs->entries[bs->n].tid = alexidx_tid_pack(tid, isnull[0]);
	bs->n++;
}

/* Writes the sorted entries to an SST file and has the worker ingest it. */
static void
store_in_sidecar(Relation index, uint64 build_id, const AxEntry *entries, Size n)
{
	char	   *path;
	AxSstWriter *writer;
	AxError		err;
	Size		done;

	if (n == 0)
	{
		alexidx_sidecar_ingest(index, build_id, NULL);
		return;
	}
	path = psprintf("%s/ingest/" UINT64_FORMAT ".sst", alexidx_sidecar_dir(), build_id);
	writer = ax_sst_open(path, &err);
	if (writer == NULL)
		alexidx_report(&err, "could not write the build's SST file", index);
	PG_TRY();
	{
		for (done = 0; done < n; done += SST_CHUNK)
		{
			Size		chunk = Min(SST_CHUNK, n - done);

			CHECK_FOR_INTERRUPTS();
			if (ax_sst_add(writer, build_id, entries + done, chunk, &err) != AX_OK)
				alexidx_report(&err, "could not write the build's SST file", index);
		}
	}
	PG_CATCH();
	{
		ax_sst_abandon(writer);
		unlink(path);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (ax_sst_finish(writer, &done, &err) != AX_OK)
	{
		unlink(path);
		alexidx_report(&err, "could not finish the build's SST file", index);
	}
	PG_TRY();
	{
		alexidx_sidecar_ingest(index, build_id, path);
	}
	PG_CATCH();
	{
		unlink(path);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

IndexBuildResult *
alexidx_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	BuildState	bs;
	double		reltuples;
	uint64		build_id;
	AxTree	   *tree;
	AxTree	   *null_tree;
	AxError		err;
	Size		nvalues;
	instr_time	start,
				t_scan,
				t_sort,
				t_sidecar,
				t_load;

	alexidx_require_preload();
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	bs.keytype = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
	if (!alexidx_type_supported(bs.keytype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alexidx does not support type %s", format_type_be(bs.keytype))));

	if (index->rd_indoption[0] != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alexidx indexes are always ascending with NULLS LAST"),
				 errhint("Drop DESC and NULLS FIRST from the index definition: a backward scan of the "
						 "index serves ORDER BY ... DESC NULLS FIRST.")));

	/* The sidecar records the build first, so a failure anywhere after leaves no orphan. */
	build_id = alexidx_sidecar_new_build(index);
	alexidx_note_build(build_id);
	alexidx_write_metapage(index, MAIN_FORKNUM, build_id);

	INSTR_TIME_SET_CURRENT(start);
	bs.cap = 1024;
	bs.n = 0;
	bs.entries = palloc_extended(bs.cap * sizeof(AxEntry), MCXT_ALLOC_HUGE);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   build_callback, &bs, NULL);

	INSTR_TIME_SET_CURRENT(t_scan);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_SORT);
	ax_sort_entries(bs.entries, bs.n);
	INSTR_TIME_SET_CURRENT(t_sort);

	/* the sidecar takes the sorted run as is; the trees take values and NULLs apart */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_SIDECAR);
	store_in_sidecar(index, build_id, bs.entries, bs.n);
	INSTR_TIME_SET_CURRENT(t_sidecar);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ALEXIDX_PHASE_LOAD);
	nvalues = alexidx_split_nulls(bs.entries, bs.n);
	tree = alexidx_new_tree(index, bs.n);
	null_tree = NULL;
	PG_TRY();
	{
		null_tree = alexidx_new_tree(index, bs.n - nvalues);
		if (ax_tree_bulk_load(tree, bs.entries, nvalues, &err) != AX_OK ||
			ax_tree_bulk_load(null_tree, bs.entries + nvalues, bs.n - nvalues, &err) != AX_OK)
		{
			if (err.status == AX_NOMEM)
				alexidx_report_arena_full(index, bs.n * 24);
			alexidx_report(&err, "could not load the tree", index);
		}
	}
	PG_CATCH();
	{
		ax_tree_destroy(alexidx_shared->arena, tree);
		ax_tree_destroy(alexidx_shared->arena, null_tree);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (!alexidx_register_tree(build_id, tree, null_tree))
		alexidx_report_too_many();
	INSTR_TIME_SET_CURRENT(t_load);
	INSTR_TIME_SUBTRACT(t_load, t_sidecar);
	INSTR_TIME_SUBTRACT(t_sidecar, t_sort);
	INSTR_TIME_SUBTRACT(t_sort, t_scan);
	INSTR_TIME_SUBTRACT(t_scan, start);
	ereport(DEBUG1,
			(errmsg("alexidx build of \"%s\": %zu entries; scan %.0f ms, sort %.0f ms, sidecar %.0f ms, tree %.0f ms",
					RelationGetRelationName(index), bs.n,
					INSTR_TIME_GET_MILLISEC(t_scan), INSTR_TIME_GET_MILLISEC(t_sort),
					INSTR_TIME_GET_MILLISEC(t_sidecar), INSTR_TIME_GET_MILLISEC(t_load))));

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = (double) bs.n;
	pfree(bs.entries);
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
