/*
 * sidecar_client.c: the backend's side of the conversation with the sidecar worker.
 *
 * Each backend owns one request slot (indexed by its PGPROC number). It fills the slot, marks
 * it pending, wakes the worker and sleeps on its own latch until the worker marks it done.
 * Entries beyond what fits in the slot travel in a DSM segment.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "alexidx.h"
#include "shared/ipc.h"
#include "wal/wal.h"

static AxRequestSlot *
my_slot(void)
{
	int			n = MyProc->pgprocno;

	alexidx_require_preload();
	if (n < 0 || n >= alexidx_shared->nslots)
		elog(ERROR, "alexidx: process %d has no sidecar request slot", MyProcPid);
	return &alexidx_shared->slots[n];
}

/* alexidx.worker_start_timeout: how long a request waits for a sidecar worker that is not running */
int			alexidx_worker_start_timeout_ms = 60000;

/*
 * Set when a write to the sidecar was given up on after the worker had taken it: whether it
 * reached the sidecar is not known (the next worker will know, but nobody waits for it). The
 * caller leaves its entries in the tree and the transaction cannot commit (insert.c).
 */
bool		alexidx_sidecar_write_unsettled = false;

/* The worker failed, or has not been running for alexidx.worker_start_timeout. */
static bool
worker_gone(TimestampTz since)
{
	uint32		state = pg_atomic_read_u32(&alexidx_shared->worker_state);

	return state == AXW_FAILED ||
		(state == AXW_STARTING && since != 0 &&
		 TimestampDifferenceExceeds(since, GetCurrentTimestamp(), alexidx_worker_start_timeout_ms));
}

static void
report_worker_gone(void)
{
	if (pg_atomic_read_u32(&alexidx_shared->worker_state) == AXW_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("alexidx sidecar is unavailable: %s", alexidx_shared->worker_error),
				 errhint("Check the server log; if the sidecar directory was lost, REINDEX the alexidx indexes.")));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("the alexidx sidecar worker is not running"),
			 errhint("Check the server log; raise max_worker_processes if the worker could not be registered.")));
}

void
alexidx_check_worker(TimestampTz since)
{
	if (worker_gone(since))
		report_worker_gone();
}

/* Takes back a request no worker has taken yet; false if one has. */
static bool
withdraw(AxRequestSlot *slot)
{
	uint32		expected = AXS_PENDING;

	return pg_atomic_compare_exchange_u32(&slot->state, &expected, AXS_FREE);
}

/*
 * A request abandoned by an earlier error may still be in a worker's hands (one that took it
 * and died leaves it to the next). It is taken back if no worker has it yet.
 */
static void
wait_until_idle(AxRequestSlot *slot)
{
	TimestampTz since = GetCurrentTimestamp();

	for (;;)
	{
		uint32		state = pg_atomic_read_u32(&slot->state);

		if (state == AXS_FREE || state == AXS_DONE || (state == AXS_PENDING && withdraw(slot)))
			break;
		alexidx_check_worker(since);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	pg_atomic_write_u32(&slot->state, AXS_FREE);
}

static AxRequestSlot *
begin_request(AxRequestType type, uint64 build_id)
{
	AxRequestSlot *slot = my_slot();

	wait_until_idle(slot);
	slot->type = type;
	slot->build_id = build_id;
	slot->latch = MyLatch;
	slot->nentries = 0;
	slot->flags = 0;
	slot->staged_before = 0;
	slot->dsm = DSM_HANDLE_INVALID;
	slot->status = AX_OK;
	slot->message[0] = '\0';
	slot->result = 0;
	/* unique across server starts too: the sidecar keeps the marks of written requests */
	slot->request = Max(slot->request + 1, (uint64) GetCurrentTimestamp());
	return slot;
}

/* The filled slot is the worker's to take: pending, and the worker woken. */
static void
hand_over(AxRequestSlot *slot)
{
	pg_write_barrier();
	pg_atomic_write_u32(&slot->state, AXS_PENDING);
	if (alexidx_shared->worker_latch)
		SetLatch(alexidx_shared->worker_latch);
}

/*
 * Hands the slot to the worker and sleeps until it answers.
 *
 * Writes, stages and deletes wait with interrupts held once the worker has taken them: a
 * cancel must not leave the caller unsure whether the sidecar took the entries, or the tree
 * and the sidecar would disagree. Such a wait is short (one group commit). Before the worker
 * takes the request, a cancel, or a worker that is gone, takes it back and ends the wait with
 * an error. A worker gone after it took a write leaves its outcome unknown:
 * alexidx_sidecar_write_unsettled.
 */
static void
submit_and_wait(AxRequestSlot *slot)
{
	TimestampTz since = GetCurrentTimestamp();
	bool		hold = slot->type == AXR_WRITE || slot->type == AXR_DELETE ||
		slot->type == AXR_STAGE;

	if (hold)
		HOLD_INTERRUPTS();
	hand_over(slot);

	while (pg_atomic_read_u32(&slot->state) != AXS_DONE)
	{
		if (worker_gone(since))
		{
			bool		taken_back = withdraw(slot);

			if (!taken_back && pg_atomic_read_u32(&slot->state) == AXS_DONE)
				continue;		/* answered after all */
			if (!taken_back && slot->type == AXR_WRITE)
				alexidx_sidecar_write_unsettled = true;
			if (hold)
				RESUME_INTERRUPTS();
			report_worker_gone();
		}
		/*
		 * A cancel that only our own hold keeps back: take the request back and serve the
		 * cancel (an ERROR, whose cleanup takes the entries out of the tree again). A
		 * termination waits for the answer: its exit would skip that cleanup.
		 */
		if (hold && QueryCancelPending && !ProcDiePending && InterruptHoldoffCount == 1 &&
			QueryCancelHoldoffCount == 0 && CritSectionCount == 0 && withdraw(slot))
		{
			RESUME_INTERRUPTS();
			CHECK_FOR_INTERRUPTS();
			HOLD_INTERRUPTS();
			/* the interrupt raised nothing: hand the request over again */
			hand_over(slot);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/* A cancel leaves the slot pending; wait_until_idle() collects it later. */
		CHECK_FOR_INTERRUPTS();
	}
	pg_read_barrier();
	pg_atomic_write_u32(&slot->state, AXS_FREE);
	if (hold)
		RESUME_INTERRUPTS();
}

static void
check_answer(AxRequestSlot *slot, const char *context, Relation index)
{
	AxError		err;

	if (slot->status == AX_OK)
		return;
	err.status = (AxStatus) slot->status;
	strlcpy(err.message, slot->message, sizeof(err.message));
	alexidx_report(&err, context, index);
}

/*
 * The transaction's id, for a build record (build_location.c). Its WAL so far is flushed
 * first: after a crash that loses the WAL naming an xid, PostgreSQL hands the same xid out
 * again and would report it running, then perhaps committed, for a transaction that never
 * made this build. Once the xid is in durable WAL, a crash leaves it aborted for good.
 */
static TransactionId
creating_xid_durably(void)
{
	TransactionId xid = GetCurrentTransactionId();

	if (XactLastRecEnd != InvalidXLogRecPtr && !RecoveryInProgress())
		XLogFlush(XactLastRecEnd);
	return xid;
}

uint64
alexidx_sidecar_new_build(Relation index, AxBuildRecord *out)
{
	AxRequestSlot *slot = begin_request(AXR_NEW_BUILD, 0);
	AxBuildRecord *rec = &slot->record;

	memset(rec, 0, sizeof(*rec));
	rec->dboid = index->rd_node.dbNode;
	rec->spcoid = index->rd_node.spcNode;
	rec->relfilenode = index->rd_node.relNode;
	rec->backend = index->rd_backend;
	rec->persistence = index->rd_rel->relpersistence;
	rec->creating_xid = creating_xid_durably();
	if (index->rd_options)
		rec->max_node_slots = (uint32) ((AlexOptions *) index->rd_options)->max_node_slots;
	if (alexidx_type_wide(alexidx_index_key_type(index)))
		rec->flags |= AX_BUILD_WIDE_KEYS;
	submit_and_wait(slot);
	check_answer(slot, "could not start a build", index);
	*out = *rec;
	out->build_id = slot->result;
	out->state = AX_BUILD_BUILDING;
	return slot->result;
}

void
alexidx_sidecar_ingest(Relation index, uint64 build_id, const char *prefix, int nfiles)
{
	AxRequestSlot *slot = begin_request(nfiles > 0 ? AXR_INGEST : AXR_BUILD_READY, build_id);

	if (nfiles > 0)
		strlcpy(slot->path, prefix, sizeof(slot->path));
	slot->nentries = nfiles;
	submit_and_wait(slot);
	check_answer(slot, "could not store the build in the sidecar", index);
}

/* One request of at most AX_REQUEST_MAX_ENTRIES entries; an ERROR if it failed. */
static void
send_entries(Relation index, AxRequestType type, uint64 build_id, const AxEntry *entries,
			 Size n, uint32 flags, Size staged_before)
{
	AxRequestSlot *slot = begin_request(type, build_id);
	dsm_segment *seg = NULL;

	Assert(n <= AX_REQUEST_MAX_ENTRIES);
	slot->nentries = (uint32) n;
	slot->flags = flags;
	slot->staged_before = staged_before;
	if (alexidx_type_wide(alexidx_index_key_type(index)))
		slot->flags |= AXF_WIDE;
	if (n <= AX_INLINE_ENTRIES)
		memcpy(slot->inline_entries, entries, n * sizeof(AxEntry));
	else
	{
		seg = dsm_create(n * sizeof(AxEntry), 0);
		memcpy(dsm_segment_address(seg), entries, n * sizeof(AxEntry));
		slot->dsm = dsm_segment_handle(seg);
	}
	submit_and_wait(slot);
	if (seg)
		dsm_detach(seg);
	check_answer(slot, type == AXR_DELETE ? "sidecar delete failed" : "sidecar write failed", index);
}

void
alexidx_sidecar_write(Relation index, uint64 build_id, const AxEntry *entries, Size n,
					  bool is_delete)
{
	Size		off;

	if (n == 0)
		return;

	/* only unlogged and temporary indexes come here: their heap has no WAL to wait for */
	Assert(!alexidx_index_is_logged(index));

	if (is_delete)
	{
		/* removing entries twice is harmless: a failure part way is retried by VACUUM */
		for (off = 0; off < n; off += AX_DELETE_CHUNK_ENTRIES)
			send_entries(index, AXR_DELETE, build_id, entries + off,
						 Min(n - off, AX_DELETE_CHUNK_ENTRIES), 0, 0);
		return;
	}
	/* each part says how many came before it: a worker that restarted in between lacks them */
	for (off = 0; n - off > AX_REQUEST_MAX_ENTRIES; off += AX_REQUEST_MAX_ENTRIES)
		send_entries(index, AXR_STAGE, build_id, entries + off, AX_REQUEST_MAX_ENTRIES,
					 off == 0 ? AXF_FIRST_CHUNK : 0, off);
	send_entries(index, AXR_WRITE, build_id, entries + off, n - off, off > 0 ? AXF_STAGED : 0, off);
}

/* The sidecar has no build for the index: the one way back is to build it again. */
static void
report_no_data(AxRequestSlot *slot, Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("alexidx: the sidecar has no data for index \"%s\"",
					RelationGetRelationName(index)),
			 errdetail("%s", slot->message),
			 errhint("Rebuild the index with REINDEX INDEX %s.", RelationGetRelationName(index))));
}

void
alexidx_sidecar_load(Relation index, uint64 build_id)
{
	AxRequestSlot *slot = begin_request(AXR_LOAD, build_id);

	submit_and_wait(slot);
	if (slot->status == AX_NOMEM)
		alexidx_report_arena_full_loading(index, (Size) slot->result);
	if (slot->status == AX_NOTFOUND)
		report_no_data(slot, index);
	check_answer(slot, "could not load the tree from the sidecar", index);
}

uint64
alexidx_sidecar_bytes(uint64 build_id)
{
	AxRequestSlot *slot = begin_request(AXR_SIZE, build_id);

	submit_and_wait(slot);
	check_answer(slot, "could not measure the sidecar", NULL);
	return slot->result;
}

uint64
alexidx_sidecar_check(Relation index, uint64 build_id)
{
	AxRequestSlot *slot = begin_request(AXR_CHECK, build_id);

	submit_and_wait(slot);
	check_answer(slot, "tree and sidecar disagree", index);
	return slot->result;
}

int
alexidx_sidecar_list(AxBuildRecord *out, uint64 after)
{
	AxRequestSlot *slot = begin_request(AXR_LIST, after);
	int			n;

	submit_and_wait(slot);
	check_answer(slot, "could not list the sidecar's builds", NULL);
	n = Min((int) slot->result, AX_LIST_MAX);
	memcpy(out, slot->inline_entries, n * sizeof(AxBuildRecord));
	return n;
}

void
alexidx_sidecar_relocate(Relation index, uint64 build_id)
{
	AxRequestSlot *slot = begin_request(AXR_RELOCATE, build_id);

	memset(&slot->record, 0, sizeof(slot->record));
	slot->record.build_id = build_id;
	slot->record.dboid = index->rd_node.dbNode;
	slot->record.spcoid = index->rd_node.spcNode;
	slot->record.relfilenode = index->rd_node.relNode;
	slot->record.backend = index->rd_backend;
	submit_and_wait(slot);
	check_answer(slot, "could not record the index's new location", index);
	/* a standby's sweep must follow the move too */
	if (alexidx_index_is_logged(index))
		alexidx_wal_log_build(XLOG_ALEXIDX_RELOCATE, &slot->record);
}

uint64
alexidx_sidecar_copy_database(Oid src, Oid dst)
{
	AxRequestSlot *slot = begin_request(AXR_COPY_DATABASE, src);

	memset(&slot->record, 0, sizeof(slot->record));
	slot->record.dboid = dst;
	slot->record.creating_xid = creating_xid_durably();
	submit_and_wait(slot);
	check_answer(slot, "could not copy the builds of the template database", NULL);
	return slot->result;
}

/* Has the worker run its orphan sweep now; returns how many builds it dropped. */
uint64
alexidx_sidecar_sweep(void)
{
	AxRequestSlot *slot = begin_request(AXR_SWEEP, 0);

	submit_and_wait(slot);
	check_answer(slot, "could not sweep the sidecar's orphaned builds", NULL);
	return slot->result;
}

/* Asks the worker which build of this database the metapage's build id stands for. */
static AxRequestSlot *
ask_resolve(Relation index, uint64 meta_build)
{
	AxRequestSlot *slot = begin_request(AXR_RESOLVE, meta_build);

	memset(&slot->record, 0, sizeof(slot->record));
	slot->record.dboid = index->rd_node.dbNode;
	submit_and_wait(slot);
	return slot;
}

uint64
alexidx_sidecar_resolve(Relation index, uint64 meta_build, AxBuildRecord *record)
{
	AxRequestSlot *slot = ask_resolve(index, meta_build);

	if (slot->status == AX_NOTFOUND)
		report_no_data(slot, index);
	check_answer(slot, "could not find the index's build", index);
	if (record)
		*record = slot->record;
	return slot->result;
}

bool
alexidx_worker_failed(void)
{
	return pg_atomic_read_u32(&alexidx_shared->worker_state) == AXW_FAILED;
}

bool
alexidx_sidecar_find_build(Relation index, uint64 meta_build, uint64 *build_id)
{
	AxRequestSlot *slot = ask_resolve(index, meta_build);

	if (slot->status == AX_NOTFOUND)
		return false;
	check_answer(slot, "could not find the index's build", index);
	*build_id = slot->result;
	return true;
}

char *
alexidx_sidecar_dir(void)
{
	return psprintf("%s/pg_alexidx", DataDir);
}

/*
 * The live RocksDB and the files a build writes for it: both are named so that base backups
 * and pg_rewind skip them (sidecar_snapshot.c says why).
 */
char *
alexidx_live_dir(void)
{
	return psprintf("%s/pg_alexidx/pgsql_tmp_live", DataDir);
}

char *
alexidx_ingest_dir(void)
{
	return psprintf("%s/pg_alexidx/pgsql_tmp_ingest", DataDir);
}

/*
 * Removes the SST files of builds that a crash cut short (an error removes its own). Called
 * when shared memory is made anew, at server start or after a crash: no backend runs then, so
 * no build is writing files. Later the worker may restart alone while a build writes, so the
 * worker's start is no place for this.
 */
void
alexidx_remove_leftover_ingest_files(void)
{
	char	   *dir = alexidx_ingest_dir();
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;

	if (d == NULL && errno == ENOENT)
	{
		FreeDir(d);
		pfree(dir);
		return;
	}
	while ((de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		char		path[MAXPGPATH];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0)
			ereport(LOG, (errcode_for_file_access(), errmsg("could not remove \"%s\": %m", path)));
	}
	FreeDir(d);
	pfree(dir);
}

