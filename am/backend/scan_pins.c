/*
 * scan_pins.c: VACUUM waits for the index-only scans that still hold entries it removed.
 *
 * An index-only scan copies a chunk of entries under the tree's shared lock, releases it, and
 * returns the entries one by one, trusting the visibility map for each. Once ambulkdelete
 * returns, the heap may free the removed entries' TIDs and mark their pages all-visible; a scan
 * still holding such an entry would then return a deleted row's key without looking at the
 * heap. nbtree prevents this by keeping a pin on the leaf page, which VACUUM's cleanup lock
 * waits for. Here each such scan holds a pin in shared memory: the build and the scan epoch it
 * read while it copied its current chunk. ambulkdelete, after it has erased the dead entries
 * (under the exclusive lock), moves the epoch on and waits until no pin of that build has an
 * older epoch. Scans with an MVCC snapshot that visit the heap need no pin: a tuple that takes
 * a freed TID is invisible to their snapshot (nbtree's README, "Making concurrent TID
 * recycling safe").
 *
 * Pins live per backend; every one is released when the scan ends, and all of a backend's at
 * the end of its transaction and at exit, whatever happened to the scans.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/wait_event.h"

#include "alexidx.h"

#define AX_SCAN_PINS 32			/* pinned scans open at once in one backend */
#define PIN_PENDING 0			/* epoch of a pin whose chunk is being copied */

typedef struct AxScanPin
{
	uint64		build_id;		/* 0: free */
	uint64		epoch;
} AxScanPin;

typedef struct AxPinSet
{
	slock_t		mutex;
	AxScanPin	pins[AX_SCAN_PINS];
} AxPinSet;

static AxPinSet *pinsets = NULL;
static pg_atomic_uint64 *scan_epoch = NULL;
static bool exit_hook_set = false;
/*
 * Bumped when the transaction's end releases every pin: a handle from before then names a
 * slot that may belong to another scan now. A handle is generation * AX_SCAN_PINS + slot.
 */
static int64 generation = 0;

static int
handle_slot(int64 handle)
{
	return handle / AX_SCAN_PINS == generation ? (int) (handle % AX_SCAN_PINS) : -1;
}

Size
alexidx_scan_pins_bytes(void)
{
	return add_size(sizeof(pg_atomic_uint64), mul_size(MaxBackends, sizeof(AxPinSet)));
}

void
alexidx_scan_pins_startup(void)
{
	bool		found;
	char	   *base = ShmemInitStruct("alexidx scan pins", alexidx_scan_pins_bytes(), &found);
	int			i;

	scan_epoch = (pg_atomic_uint64 *) base;
	pinsets = (AxPinSet *) (base + sizeof(pg_atomic_uint64));
	if (found)
		return;
	pg_atomic_init_u64(scan_epoch, 1);
	for (i = 0; i < MaxBackends; i++)
	{
		SpinLockInit(&pinsets[i].mutex);
		memset(pinsets[i].pins, 0, sizeof(pinsets[i].pins));
	}
}

static AxPinSet *
my_pins(void)
{
	if (MyProc == NULL || MyProc->pgprocno >= MaxBackends)
		elog(ERROR, "alexidx: process %d has no scan pins", MyProcPid);
	return &pinsets[MyProc->pgprocno];
}

static void
release_at_exit(int code, Datum arg)
{
	alexidx_release_all_pins();
}

int64
alexidx_pin_keep(int64 handle, uint64 build_id)
{
	AxPinSet   *set = my_pins();
	int			i;

	if (handle >= 0 && handle_slot(handle) >= 0)
		return handle;

	if (!exit_hook_set)
	{
		before_shmem_exit(release_at_exit, 0);
		exit_hook_set = true;
	}
	SpinLockAcquire(&set->mutex);
	for (i = 0; i < AX_SCAN_PINS; i++)
		if (set->pins[i].build_id == 0)
		{
			set->pins[i].build_id = build_id;
			set->pins[i].epoch = PIN_PENDING;
			break;
		}
	SpinLockRelease(&set->mutex);
	if (i == AX_SCAN_PINS)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many index-only scans of alexidx indexes are open in this session"),
				 errdetail("At most %d can be open at once.", AX_SCAN_PINS),
				 errhint("Close cursors that are no longer needed.")));
	return generation * AX_SCAN_PINS + i;
}

/* Called with the tree's lock held, around the copy of a chunk. */
void
alexidx_pin_mark(int64 handle)
{
	AxPinSet   *set = my_pins();
	uint64		epoch = pg_atomic_read_u64(scan_epoch);
	int			pin = handle_slot(handle);

	Assert(pin >= 0);
	SpinLockAcquire(&set->mutex);
	set->pins[pin].epoch = epoch;
	SpinLockRelease(&set->mutex);
}

void
alexidx_pin_release(int64 handle)
{
	AxPinSet   *set = my_pins();
	int			pin = handle_slot(handle);

	if (pin < 0)
		return;
	SpinLockAcquire(&set->mutex);
	set->pins[pin].build_id = 0;
	SpinLockRelease(&set->mutex);
}

void
alexidx_release_all_pins(void)
{
	AxPinSet   *set;

	if (pinsets == NULL || MyProc == NULL || MyProc->pgprocno >= MaxBackends)
		return;
	set = &pinsets[MyProc->pgprocno];
	SpinLockAcquire(&set->mutex);
	memset(set->pins, 0, sizeof(set->pins));
	SpinLockRelease(&set->mutex);
	generation++;
}

uint64
alexidx_scan_epoch(void)
{
	return pg_atomic_read_u64(scan_epoch);
}

uint64
alexidx_advance_scan_epoch(void)
{
	return pg_atomic_add_fetch_u64(scan_epoch, 1);
}

static bool
pinned_before(uint64 build_id, uint64 epoch)
{
	int			b,
				i;

	for (b = 0; b < MaxBackends; b++)
	{
		AxPinSet   *set = &pinsets[b];
		bool		found = false;

		SpinLockAcquire(&set->mutex);
		for (i = 0; i < AX_SCAN_PINS && !found; i++)
			found = set->pins[i].build_id == build_id && set->pins[i].epoch < epoch;
		SpinLockRelease(&set->mutex);
		if (found)
			return true;
	}
	return false;
}

void
alexidx_wait_for_scans(uint64 build_id, uint64 epoch)
{
	while (pinned_before(build_id, epoch))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
