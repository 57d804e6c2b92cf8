/*
 * metapage.c: block 0 of every alexidx index, the only page the relation has. It names the
 * build whose entries the sidecar holds for this relfilenode.
 *
 * It is written like nbtree writes pages during a build: straight to the storage manager,
 * WAL-logged as a full page image, and synced, so that the sidecar worker's orphan sweep can
 * read it from disk at any time.
 */
#include "postgres.h"

#include "access/xloginsert.h"
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

uint64
alexidx_read_build_id(Relation index)
{
	Buffer		buffer;
	AlexMetaPageData *meta;
	uint64		build_id;

	if (index->rd_amcache)
		return *(uint64 *) index->rd_amcache;

	if (RelationGetNumberOfBlocks(index) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("alexidx index \"%s\" has no metapage", RelationGetRelationName(index)),
				 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	buffer = ReadBuffer(index, ALEXIDX_METAPAGE_BLKNO);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	meta = (AlexMetaPageData *) PageGetContents(BufferGetPage(buffer));
	if (meta->magic != ALEXIDX_MAGIC || meta->version != ALEXIDX_PAGE_VERSION)
	{
		UnlockReleaseBuffer(buffer);
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("alexidx index \"%s\" has a bad metapage", RelationGetRelationName(index)),
				 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
	}
	build_id = meta->build_id;
	UnlockReleaseBuffer(buffer);

	/* an index still being created (object access hooks) has no index context yet */
	if (index->rd_indexcxt)
	{
		index->rd_amcache = MemoryContextAlloc(index->rd_indexcxt, sizeof(uint64));
		*(uint64 *) index->rd_amcache = build_id;
	}
	return build_id;
}
