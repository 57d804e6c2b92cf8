/*
 * functions.c: SQL-callable functions: alexidx_version(), alexidx_stats(regclass),
 * alexidx_tree_events(regclass) and alexidx_check(regclass, heapallindexed).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "shared/ipc.h"

PG_FUNCTION_INFO_V1(alexidx_version);
PG_FUNCTION_INFO_V1(alexidx_stats);
PG_FUNCTION_INFO_V1(alexidx_tree_events);
PG_FUNCTION_INFO_V1(alexidx_check);
PG_FUNCTION_INFO_V1(alexidx_sidecar_builds);

Datum
alexidx_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ALEXIDX_VERSION));
}

static Relation
open_alexidx_index(Oid relid, LOCKMODE mode)
{
	/* (an OID, not a name: regclass takes any number, and the index may be dropped meanwhile) */
	Relation	index = try_relation_open(relid, mode);

	if (index == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index with OID %u does not exist", relid)));
	if (index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX &&
		index->rd_rel->relam == get_am_oid("alexidx", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned index, which holds no entries", RelationGetRelationName(index)),
				 errhint("Name the index of each partition instead (pg_partition_tree lists them).")));
	if (index->rd_rel->relkind != RELKIND_INDEX ||
		index->rd_rel->relam != get_am_oid("alexidx", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an alexidx index", RelationGetRelationName(index))));
	alexidx_require_preload();
	return index;
}

/* The index's trees' statistics, for the functions below. */
static void
pair_stats(FunctionCallInfo fcinfo, Relation index, uint64 build_id, AxTreeStats *st,
		   TupleDesc *tupdesc)
{
	AxIndexEntry *entry;
	AxError		err;
	AxStatus	status;

	if (get_call_result_type(fcinfo, NULL, tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	entry = alexidx_acquire(index, build_id, LW_SHARED);
	status = ax_pair_stats(entry->pair, st, &err);
	LWLockRelease(&entry->lock);
	if (status != AX_OK)
		alexidx_report(&err, "could not compute the tree's statistics", index);
}

Datum
alexidx_tree_events(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	index = open_alexidx_index(relid, AccessShareLock);
	AxTreeStats st;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};

	pair_stats(fcinfo, index, alexidx_read_build_id(index), &st, &tupdesc);
	relation_close(index, AccessShareLock);
	values[0] = Int64GetDatum((int64) st.expansions);
	values[1] = Int64GetDatum((int64) st.retrains);
	values[2] = Int64GetDatum((int64) st.shrinks);
	values[3] = Int64GetDatum((int64) st.failed_shrinks);
	values[4] = Int64GetDatum((int64) st.sideways_splits);
	values[5] = Int64GetDatum((int64) st.downward_splits);
	values[6] = Int64GetDatum((int64) st.model_doublings);
	values[7] = Int64GetDatum((int64) st.model_widenings);
	values[8] = Int64GetDatum((int64) st.parents_added);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
alexidx_stats(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	index = open_alexidx_index(relid, AccessShareLock);
	uint64		build_id = alexidx_read_build_id(index);
	AxTreeStats st;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};

	pair_stats(fcinfo, index, build_id, &st, &tupdesc);

	values[0] = Int64GetDatum((int64) st.entries);
	values[1] = Int32GetDatum((int32) st.depth);
	values[2] = Int64GetDatum((int64) st.model_nodes);
	values[3] = Int64GetDatum((int64) st.data_nodes);
	values[4] = Int64GetDatum((int64) st.memory_bytes);
	values[5] = Float8GetDatum(st.avg_search_distance);
	values[6] = Int64GetDatum(alexidx_buffered_count(relid));
	values[7] = Int64GetDatum((int64) alexidx_sidecar_bytes(build_id));
	values[8] = Int64GetDatum((int64) build_id);
	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

typedef struct HeapCheckState
{
	Relation	index;
	uint64		build_id;
	Oid			keytype;
	int64		checked;
	int64		missing;
} HeapCheckState;

/* Called for every live heap tuple: its (key, TID) must be in the tree. */
static void
heap_check_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
					bool tupleIsAlive, void *state)
{
	HeapCheckState *hs = (HeapCheckState *) state;
	AxEntry		want,
				got;
	AxEntry		before;
	AxIndexEntry *entry;
	size_t		n;
	AxKey		key = {0, 0};

	if (!isnull[0])
		key = alexidx_datum_to_key(values[0], hs->keytype);
	want.key = key.key;
	want.key_lo = key.key_lo;
	want.tid = alexidx_tid_pack(tid, isnull[0]);
	/* the first entry strictly after (key, tid - 1) must be (key, tid) */
	before = want;
	before.tid = want.tid - 1;
	entry = alexidx_acquire(hs->index, hs->build_id, LW_SHARED);
	n = ax_pair_copy_range(entry->pair, isnull[0], key, key, &before, false, false, &got, 1);
	LWLockRelease(&entry->lock);
	hs->checked++;
	if (n != 1 || got.tid != want.tid)
	{
		hs->missing++;
		if (hs->missing <= 10)
			ereport(WARNING,
					(errmsg("alexidx index \"%s\" lacks heap tuple (%u,%u) with key %s",
							RelationGetRelationName(index),
							ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
							isnull[0] ? "NULL" : alexidx_key_string(key, hs->keytype))));
	}
}

Datum
alexidx_check(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	bool		heapallindexed = PG_GETARG_BOOL(1);
	Oid			heapid = IndexGetRelation(relid, true);
	/* (during recovery no lock above RowExclusiveLock can be taken: see below) */
	LOCKMODE	heaplock = RecoveryInProgress() ? AccessShareLock : ShareLock;
	Relation	heap;
	Relation	index;
	uint64		build_id;
	AxIndexEntry *entry;
	char		why[512];
	bool		ok;
	uint64		nsidecar;

	/*
	 * The table first, then the index, as DDL takes them (and amcheck): the other way round, a
	 * DROP INDEX or TRUNCATE that came while the check waited for the table deadlocked with it.
	 */
	heap = OidIsValid(heapid) ? try_relation_open(heapid, heaplock) : NULL;
	if (OidIsValid(heapid) && heap == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index with OID %u does not exist", relid),
				 errdetail("Its table was dropped while the check waited for its lock.")));
	index = open_alexidx_index(relid, AccessShareLock);
	if (heap == NULL || heapid != IndexGetRelation(relid, false))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not open the table of index \"%s\"", RelationGetRelationName(index)),
				 errhint("The index or its table changed while the check waited for its lock: run alexidx_check again.")));

	/*
	 * An invalid index lacks rows by design (a CREATE INDEX or REINDEX CONCURRENTLY that did
	 * not finish, a canceled DROP INDEX CONCURRENTLY): nothing to compare with the heap, as
	 * amcheck says of btree.
	 */
	if (!index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot check index \"%s\"", RelationGetRelationName(index)),
				 errdetail("The index is not valid: a concurrent CREATE INDEX, REINDEX or DROP INDEX did not finish."),
				 errhint("Rebuild it with REINDEX INDEX %s, or drop it.", RelationGetRelationName(index))));
	alexidx_flush_index(index);
	build_id = alexidx_read_build_id(index);

	/* 1. the tree's own invariants */
	entry = alexidx_acquire(index, build_id, LW_SHARED);
	ok = ax_pair_validate(entry->pair, why, sizeof(why));
	LWLockRelease(&entry->lock);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("alexidx index \"%s\" has a broken tree: %s", RelationGetRelationName(index), why),
				 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));

	/* 2. the build is this index's: its record names this database and relation file */
	{
		AxBuildRecord rec;

		alexidx_sidecar_resolve(index, build_id, &rec);
		if (rec.build_id != build_id ||
			(rec.relfilenode != index->rd_node.relNode &&
			 rec.alt_relfilenode != index->rd_node.relNode))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("alexidx index \"%s\" (relation file %u) names build " UINT64_FORMAT ", which belongs to relation file %u",
							RelationGetRelationName(index), index->rd_node.relNode, build_id,
							rec.relfilenode),
					 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	}

	/* 3. tree and sidecar hold the same entries */
	nsidecar = alexidx_sidecar_check(index, build_id);

	/*
	 * On a standby the replay changes the heap under the check (and no ShareLock can be
	 * taken): what the index holds of the heap is checked on the primary.
	 */
	if (heaplock != ShareLock)	/* (not RecoveryInProgress(): a promotion may have come since) */
	{
		ereport(NOTICE,
				(errmsg("alexidx_check on a standby compares the tree with the sidecar only"),
				 errhint("Run alexidx_check on the primary to compare the index with the table.")));
		relation_close(index, AccessShareLock);
		table_close(heap, heaplock);
		PG_RETURN_VOID();
	}

	/* 4. every entry points to a row with its key; 5. every live heap tuple is in the index */
	alexidx_check_entries_in_heap(index, heap, build_id);
	if (heapallindexed)
	{
		HeapCheckState hs = {0};
		IndexInfo  *indexInfo;

		indexInfo = BuildIndexInfo(index);
		hs.index = index;
		hs.build_id = build_id;
		hs.keytype = alexidx_index_key_type(index);
		table_index_build_scan(heap, index, indexInfo, false, false, heap_check_callback, &hs, NULL);
		if (hs.missing > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("alexidx index \"%s\" lacks " INT64_FORMAT " of " INT64_FORMAT " live heap tuples",
							RelationGetRelationName(index), hs.missing, hs.checked),
					 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	}
	table_close(heap, ShareLock);
	relation_close(index, AccessShareLock);
	ereport(DEBUG1, (errmsg("alexidx_check: " UINT64_FORMAT " entries agree", nsidecar)));
	PG_RETURN_VOID();
}

/* One row per build the sidecar knows: what a DBA looks at to see the orphan sweep work. */
static void
put_build_row(ReturnSetInfo *rsinfo, const AxBuildRecord *rec)
{
	Datum		values[6];
	bool		nulls[6] = {0};
	char		persistence[2] = {rec->persistence, '\0'};

	values[0] = Int64GetDatum((int64) rec->build_id);
	values[1] = ObjectIdGetDatum(rec->dboid);
	values[2] = ObjectIdGetDatum(rec->relfilenode);
	values[3] = CStringGetTextDatum(rec->state == AX_BUILD_READY ? "ready" : "building");
	values[4] = CStringGetTextDatum(persistence);
	values[5] = Int64GetDatum((int64) alexidx_sidecar_bytes(rec->build_id));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
alexidx_sidecar_builds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AxBuildRecord *recs = palloc(sizeof(AxBuildRecord) * AX_LIST_MAX);
	uint64		after = 0;
	int			n,
				i;

	alexidx_require_preload();
	InitMaterializedSRF(fcinfo, 0);
	do
	{
		n = alexidx_sidecar_list(recs, after);
		for (i = 0; i < n; i++)
			put_build_row(rsinfo, &recs[i]);
		if (n > 0)
			after = recs[n - 1].build_id;
	} while (n == AX_LIST_MAX);
	pfree(recs);
	return (Datum) 0;
}

