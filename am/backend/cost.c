/*
 * cost.c: amcostestimate.
 *
 * PostgreSQL's generic estimate supplies selectivity and per-tuple CPU costs. The differences
 * from btree are real ones: the tree lives in shared memory, so no index pages are read beyond
 * the metapage, and a lookup is a model prediction plus a short local search instead of a
 * descent of log(N) pages. Heap access dominates for anything unselective, so the planner still
 * prefers a sequential scan there. The index correlation comes from the column's statistics,
 * as for btree, so ordered heap fetches are costed the same way.
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
#include "catalog/pg_statistic.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "alexidx.h"

/* The same figure btcostestimate uses per page of descent, charged once for the model walk. */
#define DESCENT_OPERATORS 50

static double
column_correlation(PlannerInfo *root, IndexOptInfo *index)
{
	RangeTblEntry *rte;
	HeapTuple	stats;
	Oid			ltop;
	double		correlation = 0.0;

	if (index->indexkeys[0] == 0)
		return 0.0;				/* expression index: no column statistics */
	rte = planner_rt_fetch(index->rel->relid, root);
	if (rte->rtekind != RTE_RELATION)
		return 0.0;
	ltop = get_opfamily_member(index->opfamily[0], index->opcintype[0], index->opcintype[0],
							   BTLessStrategyNumber);
	if (!OidIsValid(ltop))
		return 0.0;
	stats = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(rte->relid),
							Int16GetDatum(index->indexkeys[0]), BoolGetDatum(rte->inh));
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
