/*
 * sidecar_snapshot.c: where the sidecar lives on disk, the snapshots that base backups carry,
 * and which sidecar a starting worker opens.
 *
 * The live RocksDB is $PGDATA/pg_alexidx/pgsql_tmp_live. pg_basebackup and pg_rewind skip
 * every name that begins with "pgsql_tmp", and they must skip this one: a database that
 * changes while it is copied file by file is not a consistent database. Backups carry
 * snapshots instead: pg_alexidx/snap_<LSN>, a RocksDB checkpoint (hard links to the live SST
 * files) of the sidecar once it holds the WAL up to a checkpoint's redo pointer, with a
 * manifest naming that LSN, the timeline and the system identifier.
 *
 * A base backup starts with a checkpoint and carries the WAL from its redo pointer. So that it
 * always holds a snapshot it can bring forward, every checkpoint waits for the snapshot of its
 * redo pointer: while the worker runs on a primary it holds DELAY_CHKPT_START, the flag
 * PostgreSQL gives a process whose data must cover the WAL before a new redo pointer before
 * that checkpoint may complete. The checkpointer waits for the virtual transaction ids that had
 * the flag when its redo pointer was fixed; the worker notices the new redo pointer, applies
 * the WAL up to it, writes the snapshot, and then takes a new virtual transaction id, which
 * lets the checkpoint go on.
 *
 * Only the worker runs this file, but for alexidx_keep_wal_for_snapshots(), which the startup
 * process runs before redo.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "alexidx.h"
#include "shared/ipc.h"

#define STAGING_DIR "pgsql_tmp_live_staging"
#define REJECTED_DIR "pgsql_tmp_rejected"
#define SNAP_TMP_DIR "pgsql_tmp_snap"
#define SNAP_PREFIX "snap_"
#define MANIFEST "alexidx_snapshot"
/* the sidecar's directory before 0.3.0, which base backups copied while it changed */
#define OLD_LIVE_DIR "db"
#define OLD_INGEST_DIR "ingest"

int			alexidx_snapshots_kept = 3;

typedef struct SidecarSnapshot
{
	char		name[64];
	XLogRecPtr	lsn;
	TimeLineID	tli;
	uint64		sysid;
} SidecarSnapshot;

static void publish_newest_snapshot(void);

/* the redo pointer the newest snapshot was written for */
static XLogRecPtr snapshot_redo = InvalidXLogRecPtr;
static bool armed = false;

static char *
path_in(const char *name)
{
	return psprintf("%s/%s", alexidx_sidecar_dir(), name);
}


static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The server's WAL position now (replayed, in recovery) and its timeline. */
static TimeLineID
server_position(XLogRecPtr *pos)
{
	TimeLineID	tli;

	if (RecoveryInProgress())
	{
		*pos = GetXLogReplayRecPtr(&tli);
		return tli;
	}
	*pos = GetXLogInsertRecPtr();
	return GetWALInsertionTimeLine();
}

TimeLineID
alexidx_server_timeline(void)
{
	XLogRecPtr	pos;

	return server_position(&pos);
}

/*
 * Is the WAL up to lsn, as timeline tli wrote it, part of this server's history? It is when
 * tli is this server's timeline or an ancestor that it left at or after lsn. (tli 0: a
 * sidecar of 0.2.0, which did not record it.)
 */
static bool
on_history(XLogRecPtr lsn, TimeLineID tli)
{
	XLogRecPtr	pos;
	TimeLineID	current = server_position(&pos);
	List	   *history;
	ListCell   *lc;
	bool		ok = false;

	if (tli == 0 || tli == current)
		return true;
	history = readTimeLineHistory(current);
	foreach(lc, history)
	{
		TimeLineHistoryEntry *e = (TimeLineHistoryEntry *) lfirst(lc);

		if (e->tli == tli)
		{
			ok = XLogRecPtrIsInvalid(e->end) || lsn <= e->end;
			break;
		}
	}
	list_free_deep(history);
	return ok;
}

/* ---------- manifests ---------- */

static bool
read_manifest(const char *name, SidecarSnapshot *snap)
{
	char	   *path = psprintf("%s/%s/" MANIFEST, alexidx_sidecar_dir(), name);
	FILE	   *f = AllocateFile(path, "r");
	uint32		hi,
				lo;
	unsigned long long sysid;
	bool		ok;

	if (f == NULL)
		return false;
	ok = fscanf(f, "lsn %X/%X\ntimeline %u\nsystem_identifier %llu\n", &hi, &lo, &snap->tli, &sysid) == 4;
	FreeFile(f);
	snap->lsn = ((uint64) hi << 32) | lo;
	snap->sysid = sysid;
	strlcpy(snap->name, name, sizeof(snap->name));
	return ok;
}

static bool
write_manifest(const char *dir, const SidecarSnapshot *snap)
{
	char	   *path = psprintf("%s/" MANIFEST, dir);
	FILE	   *f = AllocateFile(path, "w");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fprintf(f, "lsn %X/%X\ntimeline %u\nsystem_identifier " UINT64_FORMAT "\n",
				 LSN_FORMAT_ARGS(snap->lsn), snap->tli, snap->sysid) > 0;
	ok = fflush(f) == 0 && ok;
	ok = pg_fsync(fileno(f)) == 0 && ok;
	return FreeFile(f) == 0 && ok;
}

/* Every snap_* directory with a readable manifest, newest first; *nbad counts the others. */
static SidecarSnapshot *
list_snapshots(int *n, int *nbad)
{
	char	   *top = alexidx_sidecar_dir();
	DIR		   *dir = AllocateDir(top);
	struct dirent *de;
	Size		cap = 0;
	SidecarSnapshot *snaps = alexidx_grow(NULL, &cap, 8, sizeof(SidecarSnapshot), 8, CurrentMemoryContext);
	int			i,
				j;

	*n = 0;
	*nbad = 0;
	while ((de = ReadDir(dir, top)) != NULL)
	{
		if (strncmp(de->d_name, SNAP_PREFIX, strlen(SNAP_PREFIX)) != 0)
			continue;
		if (*n == cap)
			snaps = alexidx_grow(snaps, &cap, *n + 1, sizeof(SidecarSnapshot), 8, NULL);
		if (read_manifest(de->d_name, &snaps[*n]))
			(*n)++;
		else
			(*nbad)++;
	}
	FreeDir(dir);
	for (i = 1; i < *n; i++)
		for (j = i; j > 0 && snaps[j - 1].lsn < snaps[j].lsn; j--)
		{
			SidecarSnapshot	t = snaps[j];

			snaps[j] = snaps[j - 1];
			snaps[j - 1] = t;
		}
	return snaps;
}

/* ---------- files ---------- */

/* Renames a directory durably (durable_rename() is for files). */
static bool
rename_dir(const char *from, const char *to)
{
	if (rename(from, to) != 0)
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("alexidx sidecar: could not rename \"%s\" to \"%s\": %m", from, to)));
		return false;
	}
	return fsync_fname_ext(alexidx_sidecar_dir(), true, false, LOG) == 0;
}

static void
remove_dir(const char *path)
{
	if (exists(path) && !rmtree(path, true))
		ereport(LOG, (errmsg("alexidx sidecar: could not remove \"%s\"", path)));
}

/* A backup that lists pg_alexidx sees a directory whole or not at all: rename, then remove. */
static void
retire_dir(const char *path, const char *tmp_name)
{
	char	   *tmp = path_in(tmp_name);

	remove_dir(tmp);
	if (rename(path, tmp) != 0)
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("alexidx sidecar: could not rename \"%s\": %m", path)));
		return;
	}
	remove_dir(tmp);
}

static bool
copy_file_contents(const char *from, const char *to)
{
	char		buf[65536];
	int			in = OpenTransientFile(from, O_RDONLY | PG_BINARY);
	int			out;
	ssize_t		n = 0;
	bool		ok = true;

	if (in < 0)
		return false;
	out = OpenTransientFile(to, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
	if (out < 0)
	{
		CloseTransientFile(in);
		return false;
	}
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, n) == n;
	ok = ok && n == 0 && pg_fsync(out) == 0;
	CloseTransientFile(in);
	return CloseTransientFile(out) == 0 && ok;
}

/*
 * Makes dir a new database made from the snapshot: the SST files are immutable and are hard
 * linked; the rest (MANIFEST, CURRENT, OPTIONS) is copied, because RocksDB may change it.
 */
static bool
stage_snapshot(const SidecarSnapshot *snap, const char *dir)
{
	char	   *src = path_in(snap->name);
	DIR		   *d;
	struct dirent *de;
	bool		ok = true;

	remove_dir(dir);
	if (MakePGDirectory(dir) < 0)
		return false;
	d = AllocateDir(src);
	while (ok && (de = ReadDir(d, src)) != NULL)
	{
		char	   *from = psprintf("%s/%s", src, de->d_name);
		char	   *to = psprintf("%s/%s", dir, de->d_name);
		size_t		len = strlen(de->d_name);

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			strcmp(de->d_name, MANIFEST) == 0)
			continue;
		if (len > 4 && strcmp(de->d_name + len - 4, ".sst") == 0 && link(from, to) == 0)
			continue;
		ok = copy_file_contents(from, to);
		if (!ok)
			ereport(LOG, (errcode_for_file_access(),
						  errmsg("alexidx sidecar: could not copy \"%s\" of snapshot %s: %m",
								 de->d_name, snap->name)));
	}
	FreeDir(d);
	return ok && fsync_fname_ext(dir, true, false, LOG) == 0;
}

/* Opens dir, which must be a whole, undamaged sidecar at exactly lsn; NULL otherwise. */
static AxDb *
open_checked(const char *dir, const SidecarSnapshot *snap, bool verify)
{
	AxError		err = {0};
	char		set_aside[MAXPGPATH + 256];
	uint64		lsn = 0;
	uint32		tli = 0;
	AxDb	   *db;

	db = ax_db_open(dir, set_aside, sizeof(set_aside), &err);
	if (db && !set_aside[0] && (!verify || ax_db_verify(db, &err) == AX_OK))
		ax_db_applied_lsn(db, &lsn, &tli, &err);
	if (db && err.status == AX_OK && !set_aside[0] && lsn == snap->lsn)
		return db;
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("alexidx sidecar: snapshot %s cannot be used: %s", snap->name,
					set_aside[0] ? set_aside : err.status != AX_OK ? err.message :
					db == NULL ? "it does not open" : "it does not hold the LSN its manifest names")));
	if (db)
		ax_db_close(db, false, NULL, &err);
	return NULL;
}

/* The staging directory and what RocksDB set aside of damaged snapshots staged there. */
static void
remove_staging(void)
{
	char	   *top = alexidx_sidecar_dir();
	DIR		   *dir = AllocateDir(top);
	struct dirent *de;

	while ((de = ReadDir(dir, top)) != NULL)
		if (strncmp(de->d_name, STAGING_DIR, strlen(STAGING_DIR)) == 0)
			remove_dir(path_in(de->d_name));
	FreeDir(dir);
}

/*
 * The live sidecar is missing (a base backup, pg_rewind) or not on this server's history:
 * make one from the newest snapshot that this server's WAL can bring forward. false when none
 * can; the worker then starts with an empty sidecar and the logged indexes ask for REINDEX.
 */
static bool
restore_from_snapshot(const char *live)
{
	int			n,
				nbad,
				i;
	SidecarSnapshot   *snaps = list_snapshots(&n, &nbad);
	char	   *staging = path_in(STAGING_DIR);
	XLogRecPtr	pos;
	uint64		sysid = GetSystemIdentifier();

	(void) server_position(&pos);
	for (i = 0; i < n; i++)
	{
		SidecarSnapshot   *s = &snaps[i];
		AxDb	   *db;
		AxError		err = {0};

		if (s->sysid != sysid || s->lsn > pos || !on_history(s->lsn, s->tli))
		{
			ereport(LOG, (errmsg("alexidx sidecar: snapshot %s (%X/%X, timeline %u) is not on this server's WAL history up to %X/%X",
								 s->name, LSN_FORMAT_ARGS(s->lsn), s->tli, LSN_FORMAT_ARGS(pos))));
			continue;
		}
		if (!stage_snapshot(s, staging) || (db = open_checked(staging, s, true)) == NULL)
			continue;
		ax_db_close(db, false, NULL, &err);
		if (err.status != AX_OK || !rename_dir(staging, live))
			continue;
		remove_staging();
		ereport(LOG, (errmsg("alexidx sidecar: restored from snapshot %s (%X/%X, timeline %u)",
							 s->name, LSN_FORMAT_ARGS(s->lsn), s->tli)));
		snapshot_redo = s->lsn;
		return true;
	}
	remove_staging();
	if (n + nbad > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alexidx sidecar: none of the %d snapshots in pg_alexidx can be brought forward by this server's WAL",
						n + nbad),
				 errhint("Every logged alexidx index that existed before must be rebuilt with REINDEX.")));
	return false;
}

/*
 * Opens the sidecar for this start: the live one when it is on this server's WAL history,
 * else one made from a snapshot, else an empty one. *restored: not the live one of before, so
 * the WAL after the sidecar's position has builds that it has no record of yet.
 */
AxDb *
alexidx_open_sidecar(char *set_aside, Size set_aside_len, bool *restored, AxError *err)
{
	char	   *live = alexidx_live_dir();
	char	   *old = path_in(OLD_LIVE_DIR);
	AxDb	   *db;

	*restored = false;
	remove_dir(path_in(OLD_INGEST_DIR));
	remove_dir(path_in(SNAP_TMP_DIR));
	publish_newest_snapshot();
	if (!exists(live) && exists(old))
	{
		/* 0.2.0 kept it where base backups copy it: move it where they do not */
		if (!rename_dir(old, live))
			ereport(FATAL, (errmsg("alexidx sidecar: could not move \"%s\" to \"%s\"", old, live)));
	}
	if (exists(live))
	{
		uint64		lsn = 0;
		uint32		tli = 0;
		XLogRecPtr	pos;

		db = ax_db_open(live, set_aside, set_aside_len, err);
		if (db)
			ax_db_applied_lsn(db, &lsn, &tli, err);
		if (db == NULL || err->status != AX_OK || set_aside[0])
			return db;
		/*
		 * Out of recovery, the sidecar never holds WAL past the server's own end of WAL. One
		 * that does is not this server's, though on its timeline: an older backup restored over
		 * a data directory that kept its live sidecar (backups skip it). In recovery the replay
		 * may be behind a sidecar of its own (a standby restarts from its restartpoint).
		 */
		(void) server_position(&pos);
		if (!RecoveryInProgress() && lsn > pos)
			ereport(WARNING,
					(errmsg("alexidx sidecar: the sidecar at %X/%X on timeline %u holds WAL this server does not have (its WAL ends at %X/%X: a restore over a newer data directory?); it is discarded",
							LSN_FORMAT_ARGS(lsn), tli, LSN_FORMAT_ARGS(pos))));
		else if (on_history(lsn, tli))
			return db;
		else
			ereport(WARNING,
					(errmsg("alexidx sidecar: the sidecar at %X/%X on timeline %u is not on this server's timeline history (a rewind or a restore); it is discarded",
							LSN_FORMAT_ARGS(lsn), tli)));
		ax_db_close(db, false, NULL, err);
		retire_dir(live, REJECTED_DIR);
	}
	*restored = true;
	(void) restore_from_snapshot(live);
	db = ax_db_open(live, set_aside, set_aside_len, err);
	return db;
}

/* alexidx_status() shows the newest snapshot there is now. */
static void
publish_newest_snapshot(void)
{
	int			n,
				nbad;
	SidecarSnapshot *snaps = list_snapshots(&n, &nbad);

	pg_atomic_write_u64(&alexidx_shared->snapshot_lsn, n > 0 ? snaps[0].lsn : 0);
	pfree(snaps);
}

/* ---------- writing snapshots (primary only) ---------- */

/*
 * The checkpoint wait. The checkpointer knows a delaying process by its virtual transaction id
 * (backend id, local id) and waits until no process with the flag has one of the ids it saw.
 * The worker runs no transaction: it takes a fresh local id itself (from the same counter its
 * transactions would use) and sets the flag. Changing the id is one store, so there is no
 * moment without a valid id; and since it is no transaction and holds no virtualxid lock,
 * nothing that waits for older transactions (CREATE INDEX CONCURRENTLY, pg_repack) waits for
 * it.
 */
static void
arm(void)
{
	if (armed || RecoveryInProgress())
		return;
	MyProc->lxid = GetNextLocalTransactionId();
	pg_write_barrier();
	MyProc->delayChkptFlags |= DELAY_CHKPT_START;
	armed = true;
}

/* A new local id: a checkpoint that waits for the old one goes on, later ones wait again. */
static void
rearm(void)
{
	if (armed)
		MyProc->lxid = GetNextLocalTransactionId();
}

/* Old snapshots beyond alexidx.snapshots go, oldest first. */
static void
remove_old_snapshots(void)
{
	int			n,
				nbad,
				i;
	SidecarSnapshot   *snaps = list_snapshots(&n, &nbad);

	for (i = alexidx_snapshots_kept; i < n; i++)
		retire_dir(path_in(snaps[i].name), "pgsql_tmp_old_snap");
	pfree(snaps);
}

static bool
write_snapshot(AxDb *db, XLogRecPtr redo)
{
	AxError		err = {0};
	char	   *tmp = path_in(SNAP_TMP_DIR);
	SidecarSnapshot	snap = {0};
	char	   *final;
	TimestampTz start = GetCurrentTimestamp();

	/*
	 * The sidecar must hold every record before the redo pointer (on a standby it does
	 * already: the redo pointer is that of a checkpoint record it applied). A redo pointer
	 * just past a page header has nothing of that page written yet: flush to the page's start.
	 */
	if (!RecoveryInProgress())
	{
		if (redo % XLOG_BLCKSZ <= SizeOfXLogLongPHD)
			XLogFlush(redo - redo % XLOG_BLCKSZ);
		else
			XLogFlush(redo);
		if (!alexidx_follow_to(db, redo, &err))
		{
			ereport(LOG, (errmsg("alexidx sidecar: no snapshot for the checkpoint at %X/%X: %s",
								 LSN_FORMAT_ARGS(redo), err.message)));
			return false;
		}
	}
	snap.lsn = (XLogRecPtr) pg_atomic_read_u64(&alexidx_shared->applied_lsn);
	snap.tli = alexidx_server_timeline();
	snap.sysid = GetSystemIdentifier();
	snprintf(snap.name, sizeof(snap.name), SNAP_PREFIX "%08X%08X", LSN_FORMAT_ARGS(snap.lsn));
	final = path_in(snap.name);
	if (exists(final))
		return true;			/* no WAL since the last one */
	remove_dir(tmp);
	ax_db_snapshot(db, tmp, &err);
	if (err.status != AX_OK || !write_manifest(tmp, &snap) ||
		fsync_fname_ext(tmp, true, false, LOG) != 0 || !rename_dir(tmp, final))
	{
		ereport(LOG, (errmsg("alexidx sidecar: could not write the snapshot for the checkpoint at %X/%X: %s",
							 LSN_FORMAT_ARGS(redo), err.status != AX_OK ? err.message : "see above")));
		remove_dir(tmp);
		return false;
	}
	pg_atomic_write_u64(&alexidx_shared->snapshot_lsn, snap.lsn);
	ereport(DEBUG1, (errmsg("alexidx sidecar: snapshot %s for the checkpoint at %X/%X in %ld ms",
							snap.name, LSN_FORMAT_ARGS(redo),
							(long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
	remove_old_snapshots();
	return true;
}

/*
 * Called every round of the worker's loop: writes the snapshot for a new redo pointer (a
 * checkpoint may be waiting for it), then lets that checkpoint go on.
 */
void
alexidx_snapshots_step(AxDb *db)
{
	bool		standby = RecoveryInProgress();
	/*
	 * A primary's checkpoint waits for this worker (see the top of the file). A standby's
	 * restartpoints wait for no process, but each starts from the redo pointer of a checkpoint
	 * record replayed before: a snapshot written once the sidecar applied that record is
	 * usually there before a base backup of the standby starts.
	 */
	XLogRecPtr	redo = standby ? alexidx_follow_checkpoint_redo() : GetRedoRecPtr();

	arm();						/* primary only; a checkpoint that began before did not wait */
	if (redo <= snapshot_redo)
		return;
	/* held back (tests): the sidecar stays behind the checkpoint, and so no snapshot */
	if (alexidx_hold_sidecar_apply && standby)
		return;
	if (!alexidx_hold_sidecar_apply)
		(void) write_snapshot(db, redo);
	snapshot_redo = redo;
	/* a new virtual transaction id: the checkpoint that waits for the old one goes on */
	rearm();
}

/* The worker exits: no checkpoint may wait for it any more (its transaction ends with it). */
void
alexidx_snapshots_stop(void)
{
	if (!armed)
		return;
	MyProc->delayChkptFlags &= ~DELAY_CHKPT_START;
	MyProc->lxid = InvalidLocalTransactionId;
	armed = false;
}

/* ---------- in the startup process ---------- */

static bool
free_slot_exists(void)
{
	bool		found = false;
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots && !found; i++)
		found = !ReplicationSlotCtl->replication_slots[i].in_use;
	LWLockRelease(ReplicationSlotControlLock);
	return found;
}

/*
 * pg_control says this recovery started from a base backup's label (pg_basebackup, or
 * pg_rewind, which writes one too) and has not reached the backup's end yet.
 */
static bool
restoring_from_backup(void)
{
	bool		crc_ok;
	ControlFileData *cf = get_controlfile(DataDir, &crc_ok);
	bool		restoring = crc_ok &&
		(!XLogRecPtrIsInvalid(cf->backupStartPoint) || cf->backupEndRequired);

	pfree(cf);
	return restoring;
}

/*
 * A server restored from a base backup (or rewound) has no live sidecar and no replication
 * slot (backups skip both), and recovery's checkpoints would recycle the WAL its snapshots
 * need before the worker starts. Before redo, the startup process creates the worker's slot
 * holding the WAL from the oldest snapshot; the worker then moves it. Never fails recovery:
 * without a slot the worker finds the WAL gone and asks for REINDEX.
 *
 * A live sidecar during such a restore is not the backup's: a restore copied over an old data
 * directory kept it (on the same timeline, it would be trusted, and it holds WAL this server
 * never wrote). It is set aside here, before the worker can start and open it.
 */
void
alexidx_keep_wal_for_snapshots(void)
{
	int			n,
				nbad,
				i;
	SidecarSnapshot *snaps;
	XLogRecPtr	oldest = InvalidXLogRecPtr;
	bool		restoring;

	if (!alexidx_preloaded || !exists(alexidx_sidecar_dir()))
		return;
	restoring = restoring_from_backup();
	if (restoring && exists(alexidx_live_dir()))
	{
		ereport(WARNING,
				(errmsg("alexidx: this server starts from a backup label (a base backup or pg_rewind), and its data directory holds a live sidecar, which neither copies; it is set aside for the snapshots"),
				 errhint("Restore base backups into an empty directory.")));
		retire_dir(alexidx_live_dir(), REJECTED_DIR);
	}
	if (wal_level < WAL_LEVEL_REPLICA || max_replication_slots < 1 ||
		(!restoring && (exists(alexidx_live_dir()) || exists(path_in(OLD_LIVE_DIR)))) ||
		SearchNamedReplicationSlot(ALEXIDX_SLOT_NAME, true) != NULL)
		return;
	snaps = list_snapshots(&n, &nbad);
	for (i = 0; i < n; i++)
		if (XLogRecPtrIsInvalid(oldest) || snaps[i].lsn < oldest)
			oldest = snaps[i].lsn;
	pfree(snaps);
	if (XLogRecPtrIsInvalid(oldest))
		return;
	if (!free_slot_exists())
	{
		/* an error here would stop recovery: the worker reports it instead, and a full set */
		ereport(WARNING,
				(errmsg("alexidx: no free replication slot to keep the WAL for the sidecar's snapshots"),
				 errhint("Raise max_replication_slots; until then alexidx indexes may need a REINDEX after this restore.")));
		return;
	}
	ReplicationSlotCreate(ALEXIDX_SLOT_NAME, false, RS_PERSISTENT, false);
	SpinLockAcquire(&MyReplicationSlot->mutex);
	MyReplicationSlot->data.restart_lsn = oldest;
	SpinLockRelease(&MyReplicationSlot->mutex);
	ReplicationSlotMarkDirty();
	ReplicationSlotSave();
	ReplicationSlotsComputeRequiredLSN();
	ReplicationSlotRelease();
	ereport(LOG, (errmsg("alexidx: the replication slot \"%s\" keeps the WAL from %X/%X for the sidecar's snapshots",
						 ALEXIDX_SLOT_NAME, LSN_FORMAT_ARGS(oldest))));
}
