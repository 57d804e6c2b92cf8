/*
 * predicate_locks.c: SERIALIZABLE's predicate locks on alexidx indexes (ampredlocks).
 *
 * nbtree locks the leaf pages a scan reads and checks, at each insert, the page the key goes
 * to. An alexidx index has no pages, so the key space is cut into buckets instead, fixed for
 * good so that scans and inserts agree without looking at the tree (which moves keys between
 * nodes as it grows): at level L a bucket holds the ordered keys sharing all bits above bit
 * 8 + 4L (levels 0..13: from 256 keys to 2^60). A scan locks, for each range of its plan, the
 * buckets of the finest level that covers the range with at most MAX_PER_RANGE of them, and the
 * whole index when its ranges together would take more than MAX_PER_SCAN locks (PostgreSQL
 * itself promotes to the relation after 32 locks on one index in a transaction). An insert checks its key's
 * bucket at every level, so it meets a lock at whichever level a scan chose. NULL entries have
 * a bucket of their own.
 *
 * A lock is PostgreSQL's page lock on (index, block number): the block number carries the
 * level in its top 4 bits and the bucket's low 28 bits below (two buckets that share those
 * bits only make a false conflict). Nothing is stored, and a bucket depends on the key alone:
 * a lock stays right whatever happens to the tree or the build.
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/predicate.h"

#include "alexidx.h"

#define LEVELS 14
#define FIRST_SHIFT 8
#define SHIFT_STEP 4
#define BUCKET_BITS 28
#define NULL_BUCKET ((BlockNumber) 0xF0000000)	/* level 15: never a key's */
#define MAX_PER_RANGE 24
#define MAX_PER_SCAN 28

/* The key as an unsigned number in the same order (keys compare as signed 64-bit values). */
static inline uint64
ordered(AxKey key)
{
	return (uint64) key.key ^ (UINT64CONST(1) << 63);
}

/* Bucket numbers at a level are the ordered key shifted right by this much. */
static inline int
level_shift(int level)
{
	return FIRST_SHIFT + SHIFT_STEP * level;
}

static inline BlockNumber
bucket_tag(int level, uint64 bucket)
{
	return ((BlockNumber) level << BUCKET_BITS) | (BlockNumber) (bucket & ((1U << BUCKET_BITS) - 1));
}

/* The finest level at which [lo, hi] spans at most MAX_PER_RANGE buckets (there is one). */
static int
finest_level(uint64 lo, uint64 hi, uint64 *first, uint64 *count)
{
	int			level;

	for (level = 0;; level++)
	{
		*first = lo >> level_shift(level);
		*count = (hi >> level_shift(level)) - *first + 1;
		/* at the last level the whole key space is 16 buckets */
		if (*count <= MAX_PER_RANGE || level == LEVELS - 1)
			return level;
	}
}

void
alexidx_predicate_lock_scan(Relation index, Snapshot snapshot, const AxScanPlan *plan)
{
	uint64		taken = 0;
	int			r;

	if (!IsolationIsSerializable())
		return;
	for (r = 0; r < plan->nranges; r++)
	{
		uint64		first,
					count,
					b;
		int			level = finest_level(ordered(plan->lo[r]), ordered(plan->hi[r]), &first, &count);

		if (taken + count > MAX_PER_SCAN)
		{
			/* too many ranges (an IN list) for bucket locks: the whole index */
			PredicateLockRelation(index, snapshot);
			return;
		}
		for (b = 0; b < count; b++)
			PredicateLockPage(index, bucket_tag(level, first + b), snapshot);
		taken += count;
	}
	if (plan->want_nulls)
		PredicateLockPage(index, NULL_BUCKET, snapshot);
}

void
alexidx_predicate_check_insert(Relation index, AxKey key, bool isnull)
{
	uint64		u = ordered(key);
	int			level;

	if (!IsolationIsSerializable())
		return;
	if (isnull)
	{
		CheckForSerializableConflictIn(index, NULL, NULL_BUCKET);
		return;
	}
	for (level = 0; level < LEVELS; level++)
		CheckForSerializableConflictIn(index, NULL, bucket_tag(level, u >> level_shift(level)));
}
