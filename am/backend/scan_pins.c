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
 * Pins live per backend; every one is released when the scan ends or runs out, when the
 * resource owner it was taken under is released (an error ends scans without their endscan),
 * and all of a backend's at the end of its transaction and at exit, whatever happened to the
 * scans.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/wait_event.h"

#include "alexidx.h"

#define AX_SCAN_PINS 256		/* pins of one backend with a slot of their own */
#define PIN_PENDING 0			/* epoch of a pin whose chunk is being copied */
#define NO_PIN PG_UINT64_MAX	/* the overflow slot's epoch when it holds none */

typedef struct AxScanPin
{
	uint64		build_id;		/* 0: free */
	uint64		epoch;
} AxScanPin;

/*
 * A backend's pins in shared memory. A backend can hold many at once: one per partition in an
 * Append of index-only scans, and tables partitioned by day have hundreds. The first
 * AX_SCAN_PINS get a slot naming their build; the rest share the overflow slot, which holds
 * the oldest epoch among them and stands for every build (a VACUUM of any alexidx index waits
 * for it: more waiting than needed, never less).
 */
typedef struct AxPinSet
{
	slock_t		mutex;
	AxScanPin	pins[AX_SCAN_PINS];
	uint64		overflow_epoch; /* NO_PIN: none */
} AxPinSet;

/* This backend's record of each pin it holds (in TopMemoryContext). */
typedef struct LocalPin
{
	int64		serial;			/* 0: free; else the number in the scan's handle */
	uint64		build_id;
	uint64		epoch;
	int			slot;			/* in AxPinSet.pins, or -1: the overflow slot */
	ResourceOwner owner;		/* current when the pin was taken: the scan's portal's, or a
								 * subtransaction's */
} LocalPin;

static AxPinSet *pinsets = NULL;
static pg_atomic_uint64 *scan_epoch = NULL;
static bool exit_hook_set = false;
static LocalPin *local = NULL;
static Size nlocal = 0;
static Size localcap = 0;
static int64 next_serial = 1;

/*
 * A handle is serial * LOCAL_LIMIT + index in local[]: a handle whose pin was released (at
 * the end of the scan, of its resource owner or of the transaction) names a record whose
 * serial differs, or none, and so is not held.
 */
#define LOCAL_LIMIT ((int64) 1 << 24)

static LocalPin *
held(int64 handle)
{
	Size		i;

	if (handle < 0)
		return NULL;
	i = (Size) (handle % LOCAL_LIMIT);
	return i < nlocal && local[i].serial == handle / LOCAL_LIMIT ? &local[i] : NULL;
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
		pinsets[i].overflow_epoch = NO_PIN;
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

/* The overflow slot's epoch again, from this backend's overflowed pins. Under set->mutex. */
static void
publish_overflow(AxPinSet *set)
{
	uint64		oldest = NO_PIN;
	Size		i;

	for (i = 0; i < nlocal; i++)
		if (local[i].serial != 0 && local[i].slot < 0)
			oldest = Min(oldest, local[i].epoch);
	set->overflow_epoch = oldest;
}

/* Writes a pin's epoch (or its release) to shared memory. */
static void
publish(AxPinSet *set, LocalPin *pin, bool release)
{
	SpinLockAcquire(&set->mutex);
	if (pin->slot >= 0)
	{
		set->pins[pin->slot].build_id = release ? 0 : pin->build_id;
		set->pins[pin->slot].epoch = pin->epoch;
	}
	else
		publish_overflow(set);
	SpinLockRelease(&set->mutex);
}

static void
release(AxPinSet *set, LocalPin *pin)
{
	pin->serial = 0;
	publish(set, pin, true);
}

/*
 * A resource owner is released: its pins go with it. An error ends scans without amendscan;
 * their resource owner (a portal's, a subtransaction's) is released then, as their buffer pins
 * are for nbtree. A scan belongs to the owner current when it takes its pin, which is its
 * portal's for a cursor, even one first fetched inside a savepoint that rolls back. During the
 * release CurrentResourceOwner is the owner being released.
 */
static void
release_owner_pins(ResourceReleasePhase phase, bool isCommit, bool isTopLevel, void *arg)
{
	Size		i;

	if (phase != RESOURCE_RELEASE_BEFORE_LOCKS || pinsets == NULL || MyProc == NULL ||
		MyProc->pgprocno >= MaxBackends)
		return;
	for (i = 0; i < nlocal; i++)
		if (local[i].serial != 0 && local[i].owner == CurrentResourceOwner)
			release(&pinsets[MyProc->pgprocno], &local[i]);
}

int64
alexidx_pin_keep(int64 handle, uint64 build_id)
{
	AxPinSet   *set = my_pins();
	LocalPin   *pin;
	Size		i;
	int			s;

	if (held(handle))
		return handle;

	if (!exit_hook_set)
	{
		before_shmem_exit(release_at_exit, 0);
		RegisterResourceReleaseCallback(release_owner_pins, NULL);
		exit_hook_set = true;
	}
	for (i = 0; i < nlocal && local[i].serial != 0; i++)
		;
	if (i == nlocal)
	{
		if (nlocal + 1 >= (Size) LOCAL_LIMIT)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many index-only scans of alexidx indexes are open in this session")));
		local = alexidx_grow(local, &localcap, nlocal + 1, sizeof(LocalPin), 16, TopMemoryContext);
		nlocal++;
	}
	pin = &local[i];
	pin->serial = next_serial++;
	pin->build_id = build_id;
	pin->epoch = PIN_PENDING;
	pin->owner = CurrentResourceOwner;
	pin->slot = -1;
	SpinLockAcquire(&set->mutex);
	for (s = 0; s < AX_SCAN_PINS && pin->slot < 0; s++)
		if (set->pins[s].build_id == 0)
		{
			pin->slot = s;
			set->pins[s].build_id = build_id;
			set->pins[s].epoch = PIN_PENDING;
		}
	if (pin->slot < 0)
		publish_overflow(set);
	SpinLockRelease(&set->mutex);
	return pin->serial * LOCAL_LIMIT + (int64) i;
}

/* Around the copy of a chunk: on a primary with the tree's lock held, on a standby before. */
void
alexidx_pin_mark(int64 handle)
{
	LocalPin   *pin = held(handle);

	Assert(pin != NULL);
	pin->epoch = pg_atomic_read_u64(scan_epoch);
	publish(my_pins(), pin, false);
}

void
alexidx_pin_release(int64 handle)
{
	LocalPin   *pin = held(handle);

	if (pin)
		release(my_pins(), pin);
}

void
alexidx_release_all_pins(void)
{
	AxPinSet   *set;

	if (pinsets == NULL || MyProc == NULL || MyProc->pgprocno >= MaxBackends)
		return;
	set = &pinsets[MyProc->pgprocno];
	nlocal = 0;
	SpinLockAcquire(&set->mutex);
	memset(set->pins, 0, sizeof(set->pins));
	set->overflow_epoch = NO_PIN;
	SpinLockRelease(&set->mutex);
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

/* Does the backend's pin set hold an entry of build_id copied before epoch? */
static bool
set_pinned_before(AxPinSet *set, uint64 build_id, uint64 epoch)
{
	bool		found;
	int			i;

	SpinLockAcquire(&set->mutex);
	found = set->overflow_epoch < epoch;
	for (i = 0; i < AX_SCAN_PINS && !found; i++)
		found = set->pins[i].build_id == build_id && set->pins[i].epoch < epoch;
	SpinLockRelease(&set->mutex);
	return found;
}

bool
alexidx_scans_pinned_before(uint64 build_id, uint64 epoch)
{
	int			b;

	for (b = 0; b < MaxBackends; b++)
		if (set_pinned_before(&pinsets[b], build_id, epoch))
			return true;
	return false;
}

void
alexidx_cancel_scans_pinned_before(uint64 build_id, uint64 epoch, bool lock_waiters_only)
{
	int			b;

	for (b = 0; b < MaxBackends; b++)
		if (set_pinned_before(&pinsets[b], build_id, epoch))
		{
			PGPROC	   *proc = &ProcGlobal->allProcs[b];
			pid_t		pid = proc->pid;

			/*
			 * What a snapshot conflict does: the query is canceled, a session idle in its
			 * transaction is ended, and pg_stat_database_conflicts counts it. (waitLock is
			 * read without its lock: a hint, checked again each round.)
			 */
			if (pid != 0 && (!lock_waiters_only || proc->waitLock != NULL))
				(void) SendProcSignal(pid, PROCSIG_RECOVERY_CONFLICT_SNAPSHOT, proc->backendId);
		}
}

void
alexidx_wait_for_scans(uint64 build_id, uint64 epoch)
{
	while (alexidx_scans_pinned_before(build_id, epoch))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
