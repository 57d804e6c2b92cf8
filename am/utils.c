/*
 * utils.c: helpers of every process that are neither callbacks nor entry points: the
 * preload check, turning an engine failure into an ereport, splitting a batch into values
 * and NULLs for the two trees, and growing an array.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/rel.h"

#include "alexidx.h"

void
alexidx_require_preload(void)
{
	if (!alexidx_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("alexidx must be loaded via shared_preload_libraries"),
				 errhint("Add shared_preload_libraries = 'alexidx' to postgresql.conf and restart the server.")));
}

void
alexidx_report(const AxError *err, const char *context, Relation index)
{
	const char *name = index ? RelationGetRelationName(index) : NULL;

	switch (err->status)
	{
		case AX_NOMEM:
			alexidx_report_arena_full(index, 0);
			break;
		case AX_NOSPACE:
			ereport(ERROR,
					(errcode(ERRCODE_DISK_FULL),
					 errmsg("alexidx: %s%s%s: no space left on the sidecar's file system",
							context, name ? " for index " : "", name ? name : ""),
					 errdetail("%s", err->message),
					 errhint("Free disk space where $PGDATA/pg_alexidx lives, then retry: the "
							 "index is intact and nothing committed was lost.")));
			break;
		case AX_IOERROR:
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("alexidx: %s%s%s: %s", context,
							name ? " for index " : "", name ? name : "", err->message),
					 errhint("Check the server log and the file system of $PGDATA/pg_alexidx; "
							 "nothing committed was lost.")));
			break;
		case AX_NOTFOUND:
		case AX_CORRUPT:
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("alexidx: %s%s%s: %s", context,
							name ? " for index " : "", name ? name : "", err->message),
					 name ? errhint("Rebuild the index with REINDEX INDEX %s.", name)
					 : errhint("Rebuild the affected alexidx index with REINDEX.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("alexidx: %s%s%s: %s", context,
							name ? " for index " : "", name ? name : "", err->message)));
	}
	pg_unreachable();
}

Size
alexidx_split_nulls(AxEntry *entries, Size n)
{
	Size		nvalues = 0,
				nnulls = 0,
				i;
	AxEntry    *nulls = NULL;

	for (i = 0; i < n; i++)
		if (alexidx_entry_isnull(&entries[i]))
			nnulls++;
	if (nnulls == 0)
		return n;
	nulls = palloc_extended(nnulls * sizeof(AxEntry), MCXT_ALLOC_HUGE);
	nnulls = 0;
	for (i = 0; i < n; i++)
	{
		if (alexidx_entry_isnull(&entries[i]))
			nulls[nnulls++] = entries[i];
		else
			entries[nvalues++] = entries[i];
	}
	memcpy(entries + nvalues, nulls, nnulls * sizeof(AxEntry));
	pfree(nulls);
	return nvalues;
}

/*
 * Makes room for at least need elements of elem bytes: doubles the capacity (to at least
 * first for a new array), allocates a new array in cxt and moves an old one wherever it is
 * (repalloc keeps its context). Arrays may pass 1 GB (a big build, a huge insert buffer).
 */
void *
alexidx_grow(void *items, Size *cap, Size need, Size elem, Size first, MemoryContext cxt)
{
	Size		newcap;

	if (items != NULL && need <= *cap)
		return items;
	newcap = Max(*cap * 2, Max(need, first));
	items = items ? repalloc_huge(items, newcap * elem) : MemoryContextAllocHuge(cxt, newcap * elem);
	*cap = newcap;
	return items;
}
