/*
 * scan_parallel.c: the shared position of a parallel index scan (amestimateparallelscan,
 * aminitparallelscan, amparallelrescan), which scan.c's participants claim chunks from.
 *
 * A parallel index scan's participants (the leader and its workers) take turns at one
 * position in shared memory: a participant seizes it, copies the next chunk of entries from
 * the tree starting strictly after it, publishes the chunk's last entry as the new position
 * and lets the next participant in, then returns its chunk's rows on its own. Only the copy
 * (microseconds under the tree's shared lock) is serialised; the heap work of the rows runs in
 * parallel. Chunks are handed out in key order, so each participant returns its rows in
 * order, which is what a Gather Merge above the scan needs. This is nbtree's protocol with a
 * chunk of entries in place of a page: a position is a value, so the tree may change between
 * chunks as it may between the chunks of a serial scan.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"

#include "alexidx.h"

typedef enum AxParallelState
{
	AXPS_START,					/* no chunk claimed yet */
	AXPS_IDLE,					/* at (seg, last); free to seize */
	AXPS_ADVANCING,				/* a participant is copying the next chunk */
	AXPS_DONE					/* every segment handed out */
} AxParallelState;

typedef struct AxParallelScan
{
	slock_t		mutex;
	ConditionVariable cv;		/* signalled when a participant releases the position */
	AxParallelState state;
	int			seg;			/* segment of the next chunk */
	bool		has_last;		/* the next chunk starts strictly after `last` */
	AxEntry		last;
} AxParallelScan;

static AxParallelScan *
shared_position(IndexScanDesc scan)
{
	return (AxParallelScan *) OffsetToPointer(scan->parallel_scan, scan->parallel_scan->ps_offset);
}

Size
alexidx_estimateparallelscan(void)
{
	return sizeof(AxParallelScan);
}

void
alexidx_initparallelscan(void *target)
{
	AxParallelScan *ps = (AxParallelScan *) target;

	SpinLockInit(&ps->mutex);
	ConditionVariableInit(&ps->cv);
	ps->state = AXPS_START;		/* the first seize sets seg and has_last */
}

/*
 * The leader, before a rescan of the whole parallel scan: no participant is in it now. (Its
 * insert buffer was flushed when it began the scan, and parallel mode has let nothing in since.)
 */
void
alexidx_parallelrescan(IndexScanDesc scan)
{
	AxParallelScan *ps = shared_position(scan);

	SpinLockAcquire(&ps->mutex);
	ps->state = AXPS_START;
	SpinLockRelease(&ps->mutex);
}

/*
 * Waits until the position is free and takes it. false: the scan is over for everyone.
 * Otherwise the caller copies the chunk of segment *seg after *resume (from the segment's
 * start when *has_resume is false) and must call alexidx_parallel_release.
 */
bool
alexidx_parallel_seize(IndexScanDesc scan, bool backward, int nsegs, int *seg,
					   AxEntry *resume, bool *has_resume)
{
	AxParallelScan *ps = shared_position(scan);
	bool		seized = false;

	for (;;)
	{
		SpinLockAcquire(&ps->mutex);
		if (ps->state == AXPS_ADVANCING)
		{
			SpinLockRelease(&ps->mutex);
			/* the first call only prepares the sleep; the loop looks again */
			ConditionVariableSleep(&ps->cv, PG_WAIT_EXTENSION);
			continue;
		}
		if (ps->state == AXPS_START)
		{
			/* every participant plans the same keys, so they agree on nsegs */
			ps->seg = backward ? nsegs - 1 : 0;
			ps->has_last = false;
			ps->state = nsegs > 0 ? AXPS_IDLE : AXPS_DONE;
		}
		if (ps->state == AXPS_IDLE)
		{
			*seg = ps->seg;
			*has_resume = ps->has_last;
			if (ps->has_last)
				*resume = ps->last;
			ps->state = AXPS_ADVANCING;
			seized = true;
		}
		SpinLockRelease(&ps->mutex);
		break;
	}
	ConditionVariableCancelSleep();
	return seized;
}

/*
 * Publishes where the next chunk starts: strictly after *last in segment seg, or at the
 * start of segment seg when last is NULL; seg outside [0, nsegs) ends the scan.
 */
void
alexidx_parallel_release(IndexScanDesc scan, int nsegs, int seg, const AxEntry *last)
{
	AxParallelScan *ps = shared_position(scan);

	SpinLockAcquire(&ps->mutex);
	Assert(ps->state == AXPS_ADVANCING);
	if (seg < 0 || seg >= nsegs)
		ps->state = AXPS_DONE;
	else
	{
		ps->state = AXPS_IDLE;
		ps->seg = seg;
		ps->has_last = last != NULL;
		if (last)
			ps->last = *last;
	}
	SpinLockRelease(&ps->mutex);
	ConditionVariableBroadcast(&ps->cv);
}
