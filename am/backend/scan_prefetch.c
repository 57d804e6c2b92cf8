/*
 * scan_prefetch.c: brings the heap tuples an index scan is about to fetch into the CPU's cache.
 *
 * An index scan over keys scattered across the heap spends nearly all its time in the heap:
 * for each row the executor looks the page up in the buffer mapping table, pins its buffer,
 * and reads the page header, the line pointer and the tuple, each a cache miss that waits for
 * the one before it. The index already knows the next rows' TIDs (a chunk of them is copied
 * out of the tree at a time), so while the executor works on one row this file looks up the
 * buffer of a row further on and asks the CPU to load those lines ahead of time. The misses
 * of many rows then overlap instead of queueing behind each other.
 *
 * Nothing here pins, locks a buffer, or changes shared state. The buffer mapping lookup is
 * the one PrefetchBuffer does (under the mapping partition's shared lock); what the page then
 * holds is only read to compute where to prefetch, and a prefetch of any address is harmless.
 * If the buffer is evicted or reused before the executor gets there, the prefetch was wasted,
 * nothing worse: the executor reads the page through the buffer manager as always.
 */
#include "postgres.h"

#include "storage/buf_internals.h"
#include "storage/bufpage.h"
#include "storage/itemid.h"
#include "utils/rel.h"

#include "alexidx.h"

int			alexidx_prefetch_distance = 16;

/*
 * Stage one: find the row's buffer and start loading its descriptor, page header and line
 * pointer. Returns the buffer's index, -1 when the page is not in shared buffers.
 */
int
alexidx_prefetch_locate(Relation heap, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
	BufferTag	tag;
	uint32		hash;
	LWLock	   *partition;
	int			buf_id;
	char	   *page;

	INIT_BUFFERTAG(tag, heap->rd_node, MAIN_FORKNUM, blk);
	hash = BufTableHashCode(&tag);
	partition = BufMappingPartitionLock(hash);
	LWLockAcquire(partition, LW_SHARED);
	buf_id = BufTableLookup(&tag, hash);
	LWLockRelease(partition);
	if (buf_id < 0)
		return -1;
	/* the executor's pin writes the descriptor's state */
	__builtin_prefetch(GetBufferDescriptor(buf_id), 1);
	page = BufferGetPage(buf_id + 1);
	__builtin_prefetch(page);
	if (off >= FirstOffsetNumber && off <= MaxHeapTuplesPerPage)
		__builtin_prefetch(PageGetItemId(page, off));
	return buf_id;
}

/*
 * Stage two, some rows later, when the line pointer has arrived: start loading the tuple it
 * points to. The page is read without a pin, so what the line pointer says is only trusted as
 * far as it takes to stay inside the page.
 */
void
alexidx_prefetch_tuple(int buf_id, ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
	char	   *page;
	ItemIdData	lp;

	if (buf_id < 0 || off < FirstOffsetNumber || off > MaxHeapTuplesPerPage)
		return;
	page = BufferGetPage(buf_id + 1);
	lp = *(volatile ItemIdData *) PageGetItemId(page, off);
	if (lp.lp_flags == LP_NORMAL && lp.lp_off > 0 && lp.lp_off < BLCKSZ - 64)
	{
		__builtin_prefetch(page + lp.lp_off);
		__builtin_prefetch(page + lp.lp_off + 63);
	}
}
