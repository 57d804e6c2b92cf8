/*
 * cost.c: amcostestimate.
 *
 * PostgreSQL's generic estimate supplies selectivity and per-tuple CPU costs. The differences
 * from btree are real ones: the tree lives in shared memory, so no index pages are read beyond
 * the metapage, and a lookup is a model prediction plus a short local search instead of a
 * descent of log(N) pages. Heap access dominates for anything unselective, so the planner still
 * prefers a sequential scan there. The index correlation comes from the column's statistics
 * (an expression index's from its own), as for btree, so ordered heap fetches are costed the
 * same way. A partial index's entry count comes from its pg_class row (below).
 *
 * The index pages reported to the planner are not read by anyone: they are the pages a btree
 * of the same entries would visit, by which the planner decides how many workers a parallel
 * index scan gets (min_parallel_index_scan_size). The index's own relation is one metapage,
 * which would never qualify.
 */
#include "postgres.h"

#include <math.h>

#include "access/itup.h"
#include "access/stratnum.h"
#include "catalog/pg_class.h"
#include "catalog/pg_statistic.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/plancat.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "alexidx.h"

/* The same figure btcostestimate uses per page of descent, charged once for the model walk. */
#define DESCENT_OPERATORS 50

/*
 * The heap's correlation with the index order: the column's statistics, or for an expression
 * index those ANALYZE keeps for the index's own column (as btcostestimate reads them).
 */
static double
column_correlation(PlannerInfo *root, IndexOptInfo *index)
{
	RangeTblEntry *rte;
	HeapTuple	stats;
	Oid			ltop;
	Oid			relid;
	AttrNumber	colnum;
	bool		inh;
	double		correlation = 0.0;

	rte = planner_rt_fetch(index->rel->relid, root);
	if (rte->rtekind != RTE_RELATION)
		return 0.0;
	if (index->indexkeys[0] != 0)
	{
		relid = rte->relid;
		colnum = index->indexkeys[0];
		inh = rte->inh;
	}
	else
	{
		relid = index->indexoid;
		colnum = 1;
		inh = false;
	}
	ltop = get_opfamily_member(index->opfamily[0], index->opcintype[0], index->opcintype[0],
							   BTLessStrategyNumber);
	if (!OidIsValid(ltop))
		return 0.0;
	stats = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(colnum),
							BoolGetDatum(inh));
	if (HeapTupleIsValid(stats))
	{
		AttStatsSlot sslot;

		if (get_attstatsslot(&sslot, stats, STATISTIC_KIND_CORRELATION, ltop, ATTSTATSSLOT_NUMBERS))
		{
			if (sslot.nnumbers > 0)
				correlation = sslot.numbers[0];
			free_attstatsslot(&sslot);
		}
		ReleaseSysCache(stats);
	}
	return correlation;
}

/* Leaf pages a btree would fill with `tuples` entries of the index's key type, at 90%. */
static double
btree_equivalent_pages(IndexOptInfo *index, double tuples)
{
	int16		typlen = get_typlen(index->opcintype[0]);
	Size		item = MAXALIGN(sizeof(IndexTupleData) + (typlen > 0 ? typlen : sizeof(Datum))) +
		sizeof(ItemIdData);
	double		per_page = (BLCKSZ - SizeOfPageHeaderData) * 0.9 / item;

	return ceil(Max(tuples, 1.0) / per_page);
}

/*
 * get_relation_info_hook. The planner estimates a partial index's entries from its size
 * (estimate_rel_size: pages less a metapage, times the entries per page), and an alexidx
 * index is one metapage: none. genericcostestimate then clamps every scan of it to one
 * entry, so it looked nearly free, took part in plans btree's would not, and never got
 * parallel workers. Its pg_class.reltuples, which CREATE INDEX, VACUUM and ANALYZE keep as
 * for btree, says how many entries it holds.
 */
static get_relation_info_hook_type prev_get_relation_info_hook = NULL;

/* pg_class.reltuples of a relation; -1 when unknown */
static double
stored_reltuples(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		reltuples = -1;

	if (HeapTupleIsValid(tuple))
	{
		reltuples = ((Form_pg_class) GETSTRUCT(tuple))->reltuples;
		ReleaseSysCache(tuple);
	}
	return reltuples;
}

static void
partial_index_entries(PlannerInfo *root, Oid relationObjectId, bool inhparent, RelOptInfo *rel)
{
	ListCell   *lc;
	double		heap_reltuples = -2;	/* not read yet */

	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);
		double		entries;

		if (index->indpred == NIL || index->amcostestimate != alexidx_costestimate)
			continue;
		entries = stored_reltuples(index->indexoid);
		if (entries < 0)
			continue;
		/*
		 * The count is as of the last VACUUM or ANALYZE: scale it as the planner scales the
		 * table's (rel->tuples is the table's count at its current size), which is what
		 * btree's page-based estimate of a partial index amounts to.
		 */
		if (heap_reltuples == -2)
			heap_reltuples = stored_reltuples(relationObjectId);
		if (heap_reltuples > 0)
			entries *= rel->tuples / heap_reltuples;
		index->tuples = Min(entries, rel->tuples);
	}
}

void
alexidx_cost_init(void)
{
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = partial_index_entries;
}

void
alexidx_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					 Cost *indexStartupCost, Cost *indexTotalCost,
					 Selectivity *indexSelectivity, double *indexCorrelation,
					 double *indexPages)
{
	GenericCosts costs;
	Cost		descent = DESCENT_OPERATORS * cpu_operator_cost;

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	costs.indexStartupCost += descent;
	costs.indexTotalCost += descent;

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = column_correlation(root, path->indexinfo);
	*indexPages = btree_equivalent_pages(path->indexinfo, costs.numIndexTuples);
}
