/*
 * wal.h: alexidx's records in PostgreSQL's WAL, the log of record of every logged index.
 *
 * A backend changes a shared tree and logs the change in one step (under the tree's exclusive
 * lock); the commit record's flush makes it durable. The sidecar worker reads the WAL and
 * applies the records to RocksDB (wal_follow.c). Records are self-describing: applying one
 * needs no catalog lookup.
 */
#ifndef ALEXIDX_WAL_H
#define ALEXIDX_WAL_H

#include "access/xlogreader.h"
#include "lib/stringinfo.h"
#include "storage/relfilenode.h"

#include "../engine.h"

/*
 * The custom resource manager id. PostgreSQL reserves 128-255 for extensions and keeps a list
 * of taken ids on its wiki (CustomWALResourceManagers); 129, 134 and 149 are in use by known
 * extensions, and this one is not on the list.
 */
#define ALEXIDX_RMGR_ID 171
#define ALEXIDX_RMGR_NAME "alexidx"

/* record kinds (the high bits of xl_info) */
#define XLOG_ALEXIDX_INSERT 0x00	/* entries added to a build */
#define XLOG_ALEXIDX_DELETE 0x10	/* entries VACUUM removed from a build */
#define XLOG_ALEXIDX_MARK 0x20		/* no change: a position the worker catches up to */
#define XLOG_ALEXIDX_BUILD_CREATE 0x30	/* CREATE INDEX (or REINDEX, TRUNCATE) began a build */
#define XLOG_ALEXIDX_BUILD_ENTRIES 0x40 /* a chunk of the new build's sorted entries */
#define XLOG_ALEXIDX_BUILD_READY 0x50	/* the build has all its entries */
#define XLOG_ALEXIDX_RELOCATE 0x60	/* ALTER INDEX ... SET TABLESPACE: the index may live here too */
#define XLOG_ALEXIDX_VACUUM_DONE 0x70	/* a VACUUM's removals from a build are all logged */

/*
 * Bumped whenever a record's layout changes; the worker refuses formats it does not know.
 * Format 2 is an entries record of wide keys (AX_WAL_WIDE): an alexidx before 0.4.0 must refuse
 * it rather than read its key_lo bytes as varints. Every other record is still written as 1.
 */
#define ALEXIDX_WAL_FORMAT 1
#define ALEXIDX_WAL_FORMAT_WIDE 2

/*
 * Records stay at or below about 640 KB (32,768 entries of at most 20 bytes packed):
 * PostgreSQL reads a whole record into memory, on the primary and on every standby.
 */
#define AX_WAL_MAX_ENTRIES 32768

/*
 * Entries packed: each key and TID as the zigzag varint of its difference from the previous
 * entry's. Entries are logged sorted, so the differences are small: an appended key and the
 * next TID on the page take a byte each. Without the flag (the first records of format 1),
 * entries follow as raw 16-byte (key, tid) pairs.
 *
 * AX_WAL_WIDE (packed records only): the build's keys are two words; each entry's key_lo
 * follows its two varints as 8 bytes, little-endian (random in a uuid: a difference would not
 * be smaller).
 */
#define AX_WAL_PACKED 0x0001
#define AX_WAL_WIDE 0x0002
#define AX_WAL_PACKED_MAX_BYTES (AX_WAL_MAX_ENTRIES * 28)

typedef struct xl_alexidx_entries
{
	uint16		format;			/* ALEXIDX_WAL_FORMAT */
	uint16		flags;			/* AX_WAL_PACKED */
	uint32		nentries;
	uint64		build_id;
	RelFileNode node;			/* the index's file when logged: for rm_desc and debugging */
	/* AxEntry entries[nentries] follow */
} xl_alexidx_entries;

#define SizeOfAlexidxEntries MAXALIGN(sizeof(xl_alexidx_entries))

/* BUILD_CREATE, BUILD_READY, RELOCATE: the build's record as the primary's sidecar has it */
typedef struct xl_alexidx_build
{
	uint16		format;
	uint16		pad[3];
	AxBuildRecord record;
} xl_alexidx_build;

typedef struct xl_alexidx_mark
{
	uint16		format;
} xl_alexidx_mark;

/*
 * VACUUM_DONE: logged after the DELETE records of one ambulkdelete, before the heap's records
 * that free the TIDs. Its replay on a hot standby waits for the index-only scans that may still
 * hold the removed entries (standby.c).
 */
typedef struct xl_alexidx_vacuum_done
{
	uint16		format;
	uint16		pad[3];
	uint64		build_id;
} xl_alexidx_vacuum_done;

/*
 * The entries of an INSERT, DELETE or BUILD_ENTRIES record (data, len: the whole record's
 * data) into out, which has room for the header's nentries. false: the record is damaged.
 */
extern bool alexidx_wal_decode_entries(const char *data, Size len, AxEntry *out);

/* _PG_init, while shared_preload_libraries is loading */
extern void alexidx_wal_register(void);
/*
 * Logs entries added to (or removed from) the index's build, in records of at most
 * AX_WAL_MAX_ENTRIES. Call in a critical section, with the tree locked exclusively, right
 * after the tree took the change. Returns the end of the last record.
 */
extern XLogRecPtr alexidx_wal_log_entries(Relation index, uint64 build_id,
										  const AxEntry *entries, Size n, bool is_delete);
/*
 * Logs the entries of a new build, sorted, in chunks (BUILD_ENTRIES records): AxEntry when
 * wide, else AxNarrowEntry.
 */
extern void alexidx_wal_log_build_entries(Relation index, uint64 build_id,
										  const void *entries, Size n, bool wide);
/* Logs a build's record (kind: BUILD_CREATE, BUILD_READY or RELOCATE). */
extern void alexidx_wal_log_build(uint8 kind, const AxBuildRecord *record);
/* Logs VACUUM_DONE for a build (in the critical section that logged its removals). */
extern void alexidx_wal_log_vacuum_done(uint64 build_id);
/* Logs a mark and returns its end: everything logged before it is then in flushable WAL. */
extern XLogRecPtr alexidx_wal_log_mark(void);

#endif							/* ALEXIDX_WAL_H */
