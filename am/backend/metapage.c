/*
 * metapage.c: block 0 of every alexidx index, the only page the relation has. It names the
 * build whose entries the sidecar holds for this relfilenode.
 *
 * It is written like nbtree writes pages during a build: straight to the storage manager,
 * WAL-logged as a full page image, and synced, so that the sidecar worker's orphan sweep can
 * read it from disk at any time.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/checksum.h"
#include "storage/smgr.h"
#include "utils/rel.h"

#include "alexidx.h"

void
alexidx_write_metapage(Relation index, ForkNumber fork, uint64 build_id)
{
	PGAlignedBlock buf;
	Page		page = (Page) buf.data;
	AlexMetaPageData *meta;

	PageInit(page, BLCKSZ, 0);
	meta = (AlexMetaPageData *) PageGetContents(page);
	meta->magic = ALEXIDX_MAGIC;
	meta->version = ALEXIDX_PAGE_VERSION;
	meta->build_id = build_id;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(AlexMetaPageData)) - (char *) page;

	if (RelationNeedsWAL(index) || fork == INIT_FORKNUM)
		log_newpage(&index->rd_node, fork, ALEXIDX_METAPAGE_BLKNO, page, true);
	PageSetChecksumInplace(page, ALEXIDX_METAPAGE_BLKNO);
	smgrextend(RelationGetSmgr(index), fork, ALEXIDX_METAPAGE_BLKNO, (char *) page, true);
	smgrimmedsync(RelationGetSmgr(index), fork);
}

/*
 * The build id the metapage names, or what is wrong with it (then *build_id is not set):
 * "has no metapage" or "has a bad metapage".
 */
static const char *
metapage_problem(Relation index, uint64 *build_id)
{
	Buffer		buffer;
	AlexMetaPageData *meta;
	const char *problem = NULL;

	if (RelationGetNumberOfBlocks(index) == 0)
		return "has no metapage";
	buffer = ReadBuffer(index, ALEXIDX_METAPAGE_BLKNO);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	meta = (AlexMetaPageData *) PageGetContents(BufferGetPage(buffer));
	if (meta->magic != ALEXIDX_MAGIC || meta->version != ALEXIDX_PAGE_VERSION)
		problem = "has a bad metapage";
	else
		*build_id = meta->build_id;
	UnlockReleaseBuffer(buffer);
	return problem;
}

uint64
alexidx_read_metapage(Relation index)
{
	uint64		build_id = 0;
	const char *problem = metapage_problem(index, &build_id);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("alexidx index \"%s\" %s", RelationGetRelationName(index), problem),
				 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	return build_id;
}

/*
 * Points the metapage at the copy of its build that CREATE DATABASE made for this database.
 * Every backend that finds the old id writes the same new one; the page is flushed at once
 * so that a later CREATE DATABASE ... TEMPLATE, which the worker reads from disk, sees it.
 */
static void
adopt_copied_build(Relation index, uint64 build_id)
{
	Buffer		buffer = ReadBuffer(index, ALEXIDX_METAPAGE_BLKNO);
	AlexMetaPageData *meta;

	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	meta = (AlexMetaPageData *) PageGetContents(BufferGetPage(buffer));
	if (meta->build_id != build_id)
	{
		START_CRIT_SECTION();
		meta->build_id = build_id;
		MarkBufferDirty(buffer);
		if (RelationNeedsWAL(index))
			log_newpage_buffer(buffer, true);
		END_CRIT_SECTION();
		FlushOneBuffer(buffer);
	}
	UnlockReleaseBuffer(buffer);
}

/*
 * The metapage's build id is trusted when the loaded tree of that build belongs to this
 * database. Otherwise the sidecar says which build it is: the same one (not loaded yet), or
 * the copy made when CREATE DATABASE ... TEMPLATE copied this index.
 */
uint64
alexidx_read_build_id(Relation index)
{
	uint64		meta_build;
	uint64		build_id;

	if (index->rd_amcache)
		return *(uint64 *) index->rd_amcache;

	meta_build = alexidx_read_metapage(index);
	alexidx_arena_wait_kept_taken();
	if (alexidx_loaded_in_database(meta_build, index->rd_node.dbNode))
		build_id = meta_build;
	else
	{
		/*
		 * On a standby the metapage is replayed before the sidecar worker applies the build
		 * it names (a REINDEX on the primary, say): until then the sidecar has no record of
		 * it. Wait for the worker as a scan does (the metapage is among what was replayed).
		 */
		alexidx_wait_for_standby_apply();
		build_id = alexidx_sidecar_resolve(index, meta_build, NULL);
		/* a standby cannot write: the primary's own first use will */
		if (build_id != meta_build && !RecoveryInProgress())
			adopt_copied_build(index, build_id);
	}

	/* an index still being created (object access hooks) has no index context yet */
	if (index->rd_indexcxt)
	{
		index->rd_amcache = MemoryContextAlloc(index->rd_indexcxt, sizeof(uint64));
		*(uint64 *) index->rd_amcache = build_id;
	}
	return build_id;
}

/*
 * The build to drop together with an index that is being dropped; false when there is none.
 * A DROP must not fail on what only a REINDEX would mend: no metapage, a bad one, or a build
 * the sidecar has no record of (after pg_upgrade, or a restore without a usable snapshot);
 * nor wait for a sidecar worker that has failed (a sidecar it cannot open). A build this
 * misses is one that no index names any more, which the worker's sweep drops once it runs.
 */
bool
alexidx_build_to_drop(Relation index, uint64 *build_id)
{
	uint64		meta_build = 0;

	if (index->rd_amcache)
	{
		*build_id = *(uint64 *) index->rd_amcache;
		return true;
	}
	if (metapage_problem(index, &meta_build) != NULL || alexidx_worker_failed())
		return false;
	alexidx_arena_wait_kept_taken();
	if (alexidx_loaded_in_database(meta_build, index->rd_node.dbNode))
	{
		*build_id = meta_build;
		return true;
	}
	return alexidx_sidecar_find_build(index, meta_build, build_id);
}
