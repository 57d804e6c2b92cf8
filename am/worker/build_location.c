/*
 * build_location.c: where the index of a build lives, for the sidecar worker's orphan sweep
 * and its preload after a start.
 *
 * A build is live while a relation file of its database begins with a metapage that names
 * it. Its record names that file by tablespace and relfilenode, and two DBA commands move it
 * without ambuild:
 *   - ALTER INDEX ... SET TABLESPACE copies the index to a new relfilenode. The backend
 *     records the new place as the alternative before it commits (alexidx_sidecar_relocate);
 *     whichever of the two files survives the transaction becomes the location.
 *   - ALTER DATABASE ... SET TABLESPACE moves the database's files, relfilenodes unchanged, to
 *     another tablespace, and no backend of that database is there to say so: when neither
 *     recorded place holds the build, every tablespace is tried before the build counts as
 *     dead.
 * Anything that cannot be read for another reason than its absence counts as live: the
 * sweep must never remove a live index's data.
 *
 * A file is not enough, though: a crash leaves behind the relation files of transactions it
 * cut short (CREATE INDEX, REINDEX, TRUNCATE), metapage included, and PostgreSQL never
 * removes them. So a build also records the transaction that created it, and is live only
 * once that transaction committed (alexidx_creator_state).
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/pg_tablespace_d.h"
#include "common/controldata_utils.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "storage/bufpage.h"
#include "storage/fd.h"
#include "storage/procarray.h"

#include "alexidx.h"

typedef enum Probe
{
	PROBE_GONE,					/* no file, an emptied one, or another build's */
	PROBE_OURS,					/* the file's metapage names the build */
	PROBE_UNKNOWN				/* could not tell */
} Probe;

/*
 * Does a file on disk show what the index holds? Not during recovery: replay writes the
 * metapage through shared buffers, and the file may be empty or zeroed until a restartpoint
 * (replaying a drop unlinks the file at once). Nor after a promotion until the checkpoint it
 * requests has finished: that checkpoint, spread out, writes those buffers. Once it has,
 * pg_control's checkpoint is on the new timeline. (The end of any other recovery waits for
 * its checkpoint.) An empty or zeroed file on a primary is a dropped index, unlinked at the
 * next checkpoint.
 */
static bool
disk_is_current(void)
{
	static bool current = false;	/* stays so */
	ControlFileData *cf;
	bool		crc_ok;

	if (current)
		return true;
	if (RecoveryInProgress())
		return false;
	cf = get_controlfile(DataDir, &crc_ok);
	current = crc_ok && cf->checkPointCopy.ThisTimeLineID == GetWALInsertionTimeLine();
	pfree(cf);
	return current;
}

/* Reads the metapage at (spcoid, relfilenode); *meta_build (if given) gets the id it names. */
static Probe
probe(const AxBuildRecord *rec, Oid spcoid, Oid relfilenode, uint64 *meta_build)
{
	char	   *path = GetRelationPath(rec->dboid, spcoid, relfilenode, rec->backend, MAIN_FORKNUM);
	PGAlignedBlock page;
	int			fd;
	ssize_t		got;
	AlexMetaPageData *meta;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		bool		gone = errno == ENOENT;

		pfree(path);
		return gone ? PROBE_GONE : PROBE_UNKNOWN;
	}
	got = pg_pread(fd, page.data, BLCKSZ, 0);
	CloseTransientFile(fd);
	pfree(path);
	if (got < 0)
		return PROBE_UNKNOWN;
	if (got < BLCKSZ)
		return disk_is_current() ? PROBE_GONE : PROBE_UNKNOWN;
	meta = (AlexMetaPageData *) PageGetContents(page.data);
	if (meta->magic != ALEXIDX_MAGIC)
		return disk_is_current() ? PROBE_GONE : PROBE_UNKNOWN;
	if (meta_build)
		*meta_build = meta->build_id;
	/* a copy made by CREATE DATABASE names its origin until its first use */
	return meta->build_id == rec->build_id ||
		(rec->origin_build_id != 0 && meta->build_id == rec->origin_build_id) ? PROBE_OURS : PROBE_GONE;
}

bool
alexidx_read_location_build(const AxBuildRecord *rec, uint64 *meta_build)
{
	*meta_build = 0;
	probe(rec, rec->spcoid, rec->relfilenode, meta_build);
	return *meta_build != 0;
}

/* The database moved: is the file, same relfilenode, in another tablespace? */
static bool
find_moved_database(AxBuildRecord *rec)
{
	DIR		   *dir;
	struct dirent *de;
	bool		found = false;

	if (rec->spcoid != DEFAULTTABLESPACE_OID &&
		probe(rec, DEFAULTTABLESPACE_OID, rec->relfilenode, NULL) == PROBE_OURS)
	{
		rec->spcoid = DEFAULTTABLESPACE_OID;
		return true;
	}
	dir = AllocateDir("pg_tblspc");
	while (!found && (de = ReadDirExtended(dir, "pg_tblspc", LOG)) != NULL)
	{
		Oid			spcoid = (Oid) strtoul(de->d_name, NULL, 10);

		if (spcoid == InvalidOid || spcoid == rec->spcoid)
			continue;
		if (probe(rec, spcoid, rec->relfilenode, NULL) == PROBE_OURS)
		{
			rec->spcoid = spcoid;
			found = true;
		}
	}
	FreeDir(dir);
	return found;
}

bool
alexidx_locate_build(AxBuildRecord *rec, bool *changed)
{
	Probe		here = probe(rec, rec->spcoid, rec->relfilenode, NULL);
	Probe		there = rec->alt_relfilenode ? probe(rec, rec->alt_spcoid, rec->alt_relfilenode, NULL)
		: PROBE_GONE;

	*changed = false;
	if (here == PROBE_UNKNOWN || there == PROBE_UNKNOWN)
		return true;
	if (here == PROBE_OURS && there == PROBE_OURS)
		return true;			/* a move is still being decided */
	if (here == PROBE_OURS || there == PROBE_OURS)
	{
		if (there == PROBE_OURS)
		{
			rec->spcoid = rec->alt_spcoid;
			rec->relfilenode = rec->alt_relfilenode;
		}
		*changed = rec->alt_relfilenode != 0;
		rec->alt_spcoid = rec->alt_relfilenode = 0;
		return true;
	}
	if (find_moved_database(rec))
	{
		rec->alt_spcoid = rec->alt_relfilenode = 0;
		*changed = true;
		return true;
	}
	/* the index moved (the new location not settled yet), and then its database did */
	if (rec->alt_relfilenode)
	{
		AxBuildRecord alt = *rec;

		alt.spcoid = rec->alt_spcoid;
		alt.relfilenode = rec->alt_relfilenode;
		if (find_moved_database(&alt))
		{
			rec->spcoid = alt.spcoid;
			rec->relfilenode = alt.relfilenode;
			rec->alt_spcoid = rec->alt_relfilenode = 0;
			*changed = true;
			return true;
		}
	}
	return false;
}

AxCreatorState
alexidx_creator_state(TransactionId xid)
{
	TransactionId oldest;

	if (!TransactionIdIsValid(xid))
		return AX_CREATOR_COMMITTED;
	/*
	 * The commit log no longer holds transactions older than its horizon: such a build was
	 * settled long ago (the sweep clears the xid once it sees the commit), so keep it.
	 */
	LWLockAcquire(XactTruncationLock, LW_SHARED);
	oldest = ShmemVariableCache->oldestClogXid;
	LWLockRelease(XactTruncationLock);
	if (TransactionIdPrecedes(xid, oldest))
		return AX_CREATOR_COMMITTED;
	if (TransactionIdIsInProgress(xid))
		return AX_CREATOR_RUNNING;
	if (TransactionIdDidCommit(xid))
		return AX_CREATOR_COMMITTED;
	return AX_CREATOR_ABORTED;
}
