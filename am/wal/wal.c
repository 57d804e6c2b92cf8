/*
 * wal.c: writing alexidx's WAL records, and describing them (pg_walinspect, pg_waldump with
 * the library loaded).
 *
 * Redo in the startup process changes nothing: the sidecar worker follows the WAL instead and
 * applies the records to RocksDB (and on a standby to the trees), so the startup process never
 * needs RocksDB (which only the worker may open) and replay is never slowed by the sidecar.
 * It only waits, at a VACUUM_DONE on a hot standby, for the index-only scans that may still
 * hold entries the VACUUM removed (standby.c), as btree's replay of a VACUUM waits for the
 * cleanup lock on a leaf page that a scan holds pinned.
 */
#include "postgres.h"

#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "wal/wal.h"

static void
alexidx_redo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	/* the changes are applied by the sidecar worker (wal_follow.c) */
	if (info == XLOG_ALEXIDX_VACUUM_DONE && InHotStandby &&
		XLogRecGetDataLen(record) >= sizeof(xl_alexidx_vacuum_done))
	{
		xl_alexidx_vacuum_done done;

		memcpy(&done, XLogRecGetData(record), sizeof(done));
		alexidx_standby_replay_vacuum_done(done.build_id);
	}
}

static void
alexidx_desc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(record);

	if (info == XLOG_ALEXIDX_INSERT || info == XLOG_ALEXIDX_DELETE ||
		info == XLOG_ALEXIDX_BUILD_ENTRIES)
	{
		xl_alexidx_entries hdr;

		memcpy(&hdr, data, sizeof(hdr));
		appendStringInfo(buf, "build " UINT64_FORMAT "; rel %u/%u/%u; %u entries%s; format %u",
						 hdr.build_id, hdr.node.spcNode, hdr.node.dbNode, hdr.node.relNode,
						 hdr.nentries,
						 (hdr.flags & AX_WAL_WIDE) ? " (packed, wide keys)" :
						 (hdr.flags & AX_WAL_PACKED) ? " (packed)" : "",
						 hdr.format);
	}
	else if (info == XLOG_ALEXIDX_VACUUM_DONE)
	{
		xl_alexidx_vacuum_done done;

		memcpy(&done, data, sizeof(done));
		appendStringInfo(buf, "build " UINT64_FORMAT "; format %u", done.build_id, done.format);
	}
	else if (info == XLOG_ALEXIDX_BUILD_CREATE || info == XLOG_ALEXIDX_BUILD_READY ||
			 info == XLOG_ALEXIDX_RELOCATE)
	{
		xl_alexidx_build b;

		memcpy(&b, data, sizeof(b));
		appendStringInfo(buf, "build " UINT64_FORMAT "; rel %u/%u/%u; persistence %c; xid %u; format %u",
						 b.record.build_id, b.record.spcoid, b.record.dboid, b.record.relfilenode,
						 b.record.persistence ? b.record.persistence : '?',
						 b.record.creating_xid, b.format);
	}
}

static const char *
alexidx_identify(uint8 info)
{
	switch (info & ~XLR_INFO_MASK)
	{
		case XLOG_ALEXIDX_INSERT:
			return "INSERT";
		case XLOG_ALEXIDX_DELETE:
			return "DELETE";
		case XLOG_ALEXIDX_MARK:
			return "MARK";
		case XLOG_ALEXIDX_BUILD_CREATE:
			return "BUILD_CREATE";
		case XLOG_ALEXIDX_BUILD_ENTRIES:
			return "BUILD_ENTRIES";
		case XLOG_ALEXIDX_BUILD_READY:
			return "BUILD_READY";
		case XLOG_ALEXIDX_RELOCATE:
			return "RELOCATE";
		case XLOG_ALEXIDX_VACUUM_DONE:
			return "VACUUM_DONE";
	}
	return NULL;
}

static RmgrData alexidx_rmgr = {
	.rm_name = ALEXIDX_RMGR_NAME,
	.rm_redo = alexidx_redo,
	.rm_startup = alexidx_keep_wal_for_snapshots,
	.rm_desc = alexidx_desc,
	.rm_identify = alexidx_identify,
};

void
alexidx_wal_register(void)
{
	RegisterCustomRmgr(ALEXIDX_RMGR_ID, &alexidx_rmgr);
}

/*
 * Where a chunk is packed: static, because inserts log in a critical section, where no memory
 * may be allocated (only the pages a record touches become resident).
 */
static uint8 packed[AX_WAL_PACKED_MAX_BYTES];

static inline uint8 *
put_varint(uint8 *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8) v;
	return p;
}

/* the difference b - a, wrapping, as a zigzag-coded unsigned value */
static inline uint64
zigzag_diff(uint64 a, uint64 b)
{
	int64		d = (int64) (b - a);

	return ((uint64) d << 1) ^ (uint64) (d >> 63);
}

/*
 * entries: AxEntry when wide, else AxNarrowEntry (a narrow build's arrays) or AxEntry with
 * key_lo 0 (stride tells): both start with key and tid.
 */
static Size
pack_entries(const char *entries, Size stride, Size n, bool wide)
{
	uint8	   *p = packed;
	uint64		key = 0,
				tid = 0;
	Size		i;

	for (i = 0; i < n; i++)
	{
		const AxNarrowEntry *e = (const AxNarrowEntry *) (entries + i * stride);

		p = put_varint(p, zigzag_diff(key, (uint64) e->key));
		p = put_varint(p, zigzag_diff(tid, e->tid));
		if (wide)
		{
			uint64		lo = ((const AxEntry *) e)->key_lo;
			int			b;

			for (b = 0; b < 8; b++, lo >>= 8)
				*p++ = (uint8) (lo & 0xff);
		}
		key = (uint64) e->key;
		tid = e->tid;
	}
	return p - packed;
}

static inline bool
get_varint(const uint8 **p, const uint8 *end, uint64 *v)
{
	uint64		r = 0;
	int			shift;

	for (shift = 0; shift < 64 && *p < end; shift += 7)
	{
		uint8		b = *(*p)++;

		r |= (uint64) (b & 0x7f) << shift;
		if ((b & 0x80) == 0)
		{
			*v = r;
			return true;
		}
	}
	return false;
}

bool
alexidx_wal_decode_entries(const char *data, Size len, AxEntry *out)
{
	xl_alexidx_entries hdr;
	const uint8 *p;
	const uint8 *end;
	uint64		key = 0,
				tid = 0;
	Size		i;

	if (len < SizeOfAlexidxEntries)
		return false;
	memcpy(&hdr, data, sizeof(hdr));
	if ((hdr.flags & AX_WAL_PACKED) == 0)
	{
		/* the first records: (int64 key, uint64 tid) pairs, narrow keys only */
		if ((hdr.flags & AX_WAL_WIDE) ||
			len != SizeOfAlexidxEntries + (Size) hdr.nentries * 2 * sizeof(uint64))
			return false;
		for (i = 0; i < hdr.nentries; i++)
		{
			const char *raw = data + SizeOfAlexidxEntries + i * 2 * sizeof(uint64);

			memcpy(&out[i].key, raw, sizeof(uint64));
			memcpy(&out[i].tid, raw + sizeof(uint64), sizeof(uint64));
			out[i].key_lo = 0;
		}
		return true;
	}
	p = (const uint8 *) data + SizeOfAlexidxEntries;
	end = (const uint8 *) data + len;
	for (i = 0; i < hdr.nentries; i++)
	{
		uint64		dk,
					dt;

		if (!get_varint(&p, end, &dk) || !get_varint(&p, end, &dt))
			return false;
		key += (dk >> 1) ^ (uint64) -(int64) (dk & 1);
		tid += (dt >> 1) ^ (uint64) -(int64) (dt & 1);
		out[i].key = (int64) key;
		out[i].tid = tid;
		out[i].key_lo = 0;
		if (hdr.flags & AX_WAL_WIDE)
		{
			int			b;

			if (end - p < 8)
				return false;
			for (b = 7; b >= 0; b--)
				out[i].key_lo = (out[i].key_lo << 8) | p[b];
			p += 8;
		}
	}
	return p == end;
}

static XLogRecPtr
log_entries(Relation index, uint64 build_id, const char *entries, Size stride, Size n, uint8 kind)
{
	XLogRecPtr	end = InvalidXLogRecPtr;
	bool		wide = alexidx_type_wide(alexidx_index_key_type(index));
	Size		off;

	for (off = 0; off < n; off += AX_WAL_MAX_ENTRIES)
	{
		xl_alexidx_entries hdr;
		Size		chunk = Min(n - off, AX_WAL_MAX_ENTRIES);
		char		pad[SizeOfAlexidxEntries] = {0};
		Size		len = pack_entries(entries + off * stride, stride, chunk, wide);

		memset(&hdr, 0, sizeof(hdr));
		hdr.format = wide ? ALEXIDX_WAL_FORMAT_WIDE : ALEXIDX_WAL_FORMAT;
		hdr.flags = AX_WAL_PACKED | (wide ? AX_WAL_WIDE : 0);
		hdr.nentries = (uint32) chunk;
		hdr.build_id = build_id;
		hdr.node = index->rd_node;
		memcpy(pad, &hdr, sizeof(hdr));
		XLogBeginInsert();
		XLogRegisterData(pad, SizeOfAlexidxEntries);
		XLogRegisterData((char *) packed, len);
		end = XLogInsert(ALEXIDX_RMGR_ID, kind);
	}
	return end;
}

XLogRecPtr
alexidx_wal_log_entries(Relation index, uint64 build_id, const AxEntry *entries, Size n,
						bool is_delete)
{
	Assert(CritSectionCount > 0);
	return log_entries(index, build_id, (const char *) entries, sizeof(AxEntry), n,
					   is_delete ? XLOG_ALEXIDX_DELETE : XLOG_ALEXIDX_INSERT);
}

/*
 * Like btree's log_newpage() of every page of a new index: a standby builds the sidecar's
 * copy of the build from these. The primary's own sidecar ingests SST files instead (synced
 * before commit) and its worker skips these records.
 */
void
alexidx_wal_log_build_entries(Relation index, uint64 build_id, const void *entries, Size n,
							  bool wide)
{
	(void) log_entries(index, build_id, entries, wide ? sizeof(AxEntry) : sizeof(AxNarrowEntry), n,
					   XLOG_ALEXIDX_BUILD_ENTRIES);
}

void
alexidx_wal_log_build(uint8 kind, const AxBuildRecord *record)
{
	xl_alexidx_build b;

	memset(&b, 0, sizeof(b));
	b.format = ALEXIDX_WAL_FORMAT;
	b.record = *record;
	XLogBeginInsert();
	XLogRegisterData((char *) &b, sizeof(b));
	(void) XLogInsert(ALEXIDX_RMGR_ID, kind);
}

XLogRecPtr
alexidx_wal_log_mark(void)
{
	xl_alexidx_mark mark = {.format = ALEXIDX_WAL_FORMAT};

	XLogBeginInsert();
	XLogRegisterData((char *) &mark, sizeof(mark));
	return XLogInsert(ALEXIDX_RMGR_ID, XLOG_ALEXIDX_MARK);
}

void
alexidx_wal_log_vacuum_done(uint64 build_id)
{
	xl_alexidx_vacuum_done done;

	memset(&done, 0, sizeof(done));
	done.format = ALEXIDX_WAL_FORMAT;
	done.build_id = build_id;
	XLogBeginInsert();
	XLogRegisterData((char *) &done, sizeof(done));
	(void) XLogInsert(ALEXIDX_RMGR_ID, XLOG_ALEXIDX_VACUUM_DONE);
}
