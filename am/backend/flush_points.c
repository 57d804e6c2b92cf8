/*
 * flush_points.c: statements before which this backend's insert buffers must be in the trees.
 *
 * A backend's buffered entries (insert.c) are normally flushed when the buffer fills, when
 * this backend scans the index, and at commit. Two kinds of statement need them earlier:
 *
 *   - A query with a parallel plan. Its workers read only the shared trees, and a worker can
 *     run an alexidx scan that the leader never begins (a non-partial child of a Parallel
 *     Append, the inner side of a nested loop under a Gather), so the leader's own scan is no
 *     place to flush from. Before the executor starts, nothing is in parallel mode yet.
 *   - A statement that can give a table new storage within the transaction: TRUNCATE, ALTER
 *     TABLE (rewrites), CLUSTER, REFRESH MATERIALIZED VIEW. Buffered entries of speculative
 *     insertions are checked against their heap tuples before a flush (speculative.c), and
 *     after the rewrite their TIDs would be looked up in the new file, where they are not (or
 *     are other rows). If a savepoint then rolls the rewrite back, the old heap and build are
 *     the table again, and must have every entry.
 *
 * (The extension's ProcessUtility hook, in database_copy.c, calls alexidx_flush_before_utility.)
 *
 * Flushing early is always allowed: entries of a subtransaction that aborts later stay in the
 * tree pointing at aborted tuples, which VACUUM removes, as with btree.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"

#include "alexidx.h"

static ExecutorStart_hook_type prev_executor_start = NULL;

static void
executor_start(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->plannedstmt->parallelModeNeeded && !IsInParallelMode() &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		alexidx_flush_all_buffers();
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
alexidx_flush_before_utility(Node *stmt)
{
	bool		may_rewrite_a_table = IsA(stmt, TruncateStmt) || IsA(stmt, AlterTableStmt) ||
		IsA(stmt, ClusterStmt) || IsA(stmt, RefreshMatViewStmt);

	if (may_rewrite_a_table && IsTransactionState())
		alexidx_flush_all_buffers();
}

void
alexidx_flush_points_init(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = executor_start;
}
