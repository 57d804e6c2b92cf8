/*
 * standby.c: reading alexidx indexes on a hot standby, and just after a promotion.
 *
 * On a standby the sidecar worker applies the replayed WAL to the shared trees. A scan waits
 * until the worker has applied everything replayed when the scan starts: the scan's snapshot
 * is older, so every row it can see was inserted by records the trees then have. And after a
 * crash the standby replays again from its last restartpoint, while the sidecar (from which the
 * trees load) may be further on: a scan also waits until the replay is back where the sidecar
 * was. It never returns a partial answer: it waits, interruptibly, up to
 * alexidx.standby_wait, then fails.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "postmaster/startup.h"
#include "storage/proc.h"
#include "storage/standby.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "alexidx.h"
#include "shared/ipc.h"

int			alexidx_standby_wait_ms = 30000;

static void
wait_until(bool (*done) (XLogRecPtr), XLogRecPtr target, const char *who, const char *what)
{
	TimestampTz start = GetCurrentTimestamp();

	while (!done(target))
	{
		if (alexidx_shared->worker_latch)
			SetLatch(alexidx_shared->worker_latch);
		if (pg_atomic_read_u32(&alexidx_shared->worker_state) == AXW_FAILED)
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("alexidx sidecar is unavailable: %s", alexidx_shared->worker_error)));
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), alexidx_standby_wait_ms))
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("alexidx: %s the WAL up to %X/%X (%s) after %d ms",
							who, LSN_FORMAT_ARGS(target), what, alexidx_standby_wait_ms),
					 errdetail("The sidecar worker has applied the WAL up to %X/%X; the standby has replayed it up to %X/%X.",
							   LSN_FORMAT_ARGS((XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn)),
							   LSN_FORMAT_ARGS(GetXLogReplayRecPtr(NULL))),
					 errhint("See alexidx_status() and the server log; raise alexidx.standby_wait to wait longer.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 2,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static bool
applied_reaches(XLogRecPtr target)
{
	return pg_atomic_read_u32(&alexidx_shared->worker_state) == AXW_RUNNING &&
		(XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn) >= target;
}

static bool
replay_reaches(XLogRecPtr target)
{
	return GetXLogReplayRecPtr(NULL) >= target;
}

static bool
trees_handed_over(XLogRecPtr unused)
{
	return pg_atomic_read_u32(&alexidx_shared->worker_owns_trees) == 0;
}

void
alexidx_wait_for_standby_apply(void)
{
	XLogRecPtr	trees_from;

	if (!RecoveryInProgress())
		return;
	wait_until(applied_reaches, GetXLogReplayRecPtr(NULL), "the sidecar worker has not applied",
			   "replayed when the scan started");
	/* (read once the worker runs: it sets it first) */
	trees_from = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->standby_trees_from);
	if (trees_from != InvalidXLogRecPtr)
		wait_until(replay_reaches, trees_from, "the standby has not replayed",
				   "where its sidecar was when the standby restarted");
}

void
alexidx_wait_for_tree_handover(void)
{
	if (pg_atomic_read_u32(&alexidx_shared->worker_owns_trees) == 0 || RecoveryInProgress())
		return;
	wait_until(trees_handed_over, InvalidXLogRecPtr, "the sidecar worker has not applied",
			   "replayed before the promotion");
}

/*
 * Index-only scans on a hot standby. The worker takes a VACUUM's removals out of the trees
 * after the startup process replayed them, and the heap's replay that follows frees the TIDs
 * and may mark their pages all-visible: a scan still holding a removed entry would then return
 * a deleted row's key without looking at the heap. The replay of VACUUM_DONE (logged after the
 * removals, before the heap's records) first writes down where the replay is (past the
 * removals), then moves the scan epoch on and waits until no index-only scan of the build
 * holds a pin from before, as the primary's ambulkdelete does and as btree's replay waits for
 * the cleanup lock on a pinned leaf. A scan, before each chunk, publishes its pin with the
 * current epoch, then waits until the worker has applied the WAL up to that position
 * (alexidx_wait_for_standby_vacuums), then copies: if its epoch is older, the replay waits for
 * it; if not, the position it read covers the removals.
 *
 * The wait lasts at most as long as max_standby_streaming_delay (or max_standby_archive_delay)
 * allows, counted from the WAL's receipt, then cancels those scans as a snapshot conflict.
 * Sooner, after deadlock_timeout, it cancels holders that wait for a lock (likely one the
 * replay holds: neither would ever go on), as PostgreSQL's replay does for buffer pins.
 */
void
alexidx_standby_replay_vacuum_done(uint64 build_id)
{
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz received;
	bool		streamed;
	int			delay;
	TimestampTz last_cancel = 0;
	bool		logged = false;
	uint64		epoch;

	pg_atomic_write_u64(&alexidx_shared->standby_vacuum_done_lsn, GetXLogReplayRecPtr(NULL));
	epoch = alexidx_advance_scan_epoch();	/* (a full barrier) */
	if (!alexidx_scans_pinned_before(build_id, epoch))
		return;
	GetXLogReceiptTime(&received, &streamed);
	delay = streamed ? max_standby_streaming_delay : max_standby_archive_delay;
	while (alexidx_scans_pinned_before(build_id, epoch))
	{
		TimestampTz now = GetCurrentTimestamp();
		bool		past_delay = delay >= 0 && now >= TimestampTzPlusMilliseconds(received, delay);
		bool		past_deadlock_timeout = now >= TimestampTzPlusMilliseconds(start, DeadlockTimeout);

		if ((past_delay || past_deadlock_timeout) && TimestampDifferenceExceeds(last_cancel, now, 500))
		{
			if (past_delay && !logged)
			{
				logged = true;
				ereport(LOG,
						(errmsg("alexidx: canceling index-only scans that hold entries a replayed VACUUM removed from build " UINT64_FORMAT,
								build_id),
						 errdetail("They held the replay up for longer than %s allows.",
								   streamed ? "max_standby_streaming_delay" : "max_standby_archive_delay")));
			}
			alexidx_cancel_scans_pinned_before(build_id, epoch, !past_delay);
			last_cancel = now;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		HandleStartupProcInterrupts();
	}
}

void
alexidx_wait_for_standby_vacuums(void)
{
	wait_until(applied_reaches,
			   (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->standby_vacuum_done_lsn),
			   "the sidecar worker has not applied", "a replayed VACUUM's removals");
}
