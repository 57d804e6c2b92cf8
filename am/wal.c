/*
 * wal.c: writing alexidx's WAL records, and describing them (pg_walinspect, pg_waldump with
 * the library loaded).
 *
 * Redo in the startup process does nothing: the sidecar worker follows the WAL instead and
 * applies the records to RocksDB, so the startup process never needs RocksDB (which only the
 * worker may open) and replay is never slowed by the sidecar.
 */
#include "postgres.h"

#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "wal.h"

static void
alexidx_redo(XLogReaderState *record)
{
	/* applied by the sidecar worker (wal_follow.c) */
}

static void
alexidx_desc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(record);

	if (info == XLOG_ALEXIDX_INSERT || info == XLOG_ALEXIDX_DELETE)
	{
		xl_alexidx_entries hdr;

		memcpy(&hdr, data, sizeof(hdr));
		appendStringInfo(buf, "build " UINT64_FORMAT "; rel %u/%u/%u; %u entries; format %u",
						 hdr.build_id, hdr.node.spcNode, hdr.node.dbNode, hdr.node.relNode,
						 hdr.nentries, hdr.format);
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
	}
	return NULL;
}

static RmgrData alexidx_rmgr = {
	.rm_name = ALEXIDX_RMGR_NAME,
	.rm_redo = alexidx_redo,
	.rm_desc = alexidx_desc,
	.rm_identify = alexidx_identify,
};

void
alexidx_wal_register(void)
{
	RegisterCustomRmgr(ALEXIDX_RMGR_ID, &alexidx_rmgr);
}

XLogRecPtr
alexidx_wal_log_entries(Relation index, uint64 build_id, const AxEntry *entries, Size n,
						bool is_delete)
{
	XLogRecPtr	end = InvalidXLogRecPtr;
	Size		off;

	Assert(CritSectionCount > 0);
	for (off = 0; off < n; off += AX_WAL_MAX_ENTRIES)
	{
		xl_alexidx_entries hdr;
		Size		chunk = Min(n - off, AX_WAL_MAX_ENTRIES);
		char		pad[SizeOfAlexidxEntries] = {0};

		memset(&hdr, 0, sizeof(hdr));
		hdr.format = ALEXIDX_WAL_FORMAT;
		hdr.nentries = (uint32) chunk;
		hdr.build_id = build_id;
		hdr.node = index->rd_node;
		memcpy(pad, &hdr, sizeof(hdr));
		XLogBeginInsert();
		XLogRegisterData(pad, SizeOfAlexidxEntries);
		XLogRegisterData((char *) (entries + off), chunk * sizeof(AxEntry));
		end = XLogInsert(ALEXIDX_RMGR_ID, is_delete ? XLOG_ALEXIDX_DELETE : XLOG_ALEXIDX_INSERT);
	}
	return end;
}

XLogRecPtr
alexidx_wal_log_mark(void)
{
	xl_alexidx_mark mark = {.format = ALEXIDX_WAL_FORMAT};

	XLogBeginInsert();
	XLogRegisterData((char *) &mark, sizeof(mark));
	return XLogInsert(ALEXIDX_RMGR_ID, XLOG_ALEXIDX_MARK);
}
