/*
 * build_scan.h: what CREATE INDEX's heap scan (build_scan.c) hands to the rest of the build
 * (build.c): every (key, TID) pair of the heap, sorted.
 */
#ifndef ALEXIDX_BUILD_SCAN_H
#define ALEXIDX_BUILD_SCAN_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "utils/relcache.h"

/* A growing array of entries in backend memory: AxEntry if wide, else AxNarrowEntry. */
typedef struct AxEntryArray
{
	void	   *items;
	Size		n;
	Size		cap;
	bool		wide;
} AxEntryArray;

/* The build's entries: the keys, and the NULLs (key 0, TIDs marked), each sorted. */
typedef struct AxBuildEntries
{
	Oid			keytype;
	AxEntryArray values;
	AxEntryArray nulls;
} AxBuildEntries;

/*
 * Scans the heap, with parallel workers when PostgreSQL would give a btree build of this
 * index some, and leaves the sorted entries in *entries (allocated in CurrentMemoryContext).
 * Returns the heap's tuple count; *nworkers is the number of workers that took part.
 */
extern double alexidx_build_scan(Relation heap, Relation index, IndexInfo *indexInfo,
								 Oid keytype, AxBuildEntries *entries, int *nworkers);

/* The parallel workers' entry point, named to CreateParallelContext. */
extern PGDLLEXPORT void alexidx_build_worker_main(dsm_segment *seg, shm_toc *toc);

#endif
