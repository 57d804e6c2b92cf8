/*
 * alexidx.c: module entry point: PG_MODULE_MAGIC, GUCs, hooks, and the handler that hands
 * PostgreSQL the access method's callbacks.
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "alexidx.h"
#include "wal/wal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
static void define_reloptions(void);
static void define_startup_int(const char *name, const char *short_desc,
							   const char *long_desc, int *variable, int boot, int min,
							   int max, int unit);

int			alexidx_memory_mb = 1024;
int			alexidx_max_indexes = 1024;
int			alexidx_insert_buffer = 65536;
int			alexidx_sweep_interval = 10;
bool		alexidx_preloaded = false;
bool		alexidx_hold_sidecar_apply = false;
bool		alexidx_hold_arena_copy = false;
int			alexidx_test_worker_exit = 0;
bool		alexidx_am_sidecar_worker = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	alexidx_shmem_request();
}

static void
startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	alexidx_shmem_startup();
}

/*
 * A PGC_POSTMASTER integer whose configured value must be used or refused. PostgreSQL applies
 * a value set before the definition (postgresql.conf, -c) with only a WARNING when it is out
 * of range or malformed, and keeps the default: the server would run with 1 GB of arena when
 * the DBA asked for 8 MB. The value is parsed again here and a mismatch stops the start
 * (an ERROR in the postmaster is FATAL), as PostgreSQL does for its own settings.
 */
static void
define_startup_int(const char *name, const char *short_desc, const char *long_desc,
				   int *variable, int boot, int min, int max, int unit)
{
	const char *configured = GetConfigOption(name, true, false);
	char	   *raw = configured ? pstrdup(configured) : NULL;
	const char *unit_name = unit == GUC_UNIT_MB ? "MB" : "";
	const char *hintmsg = NULL;
	int			parsed;

	DefineCustomIntVariable(name, short_desc, long_desc, variable, boot, min, max,
							PGC_POSTMASTER, unit, NULL, NULL, NULL);
	if (raw == NULL)
		return;
	if (!parse_int(raw, &parsed, unit, &hintmsg) || parsed != *variable)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"%s\": \"%s\"", name, raw),
				 errdetail("%s must be between %d%s and %d%s.", name, min, unit_name, max, unit_name),
				 errhint("Set %s to an allowed value in postgresql.conf and start the server again.",
						 name)));
	pfree(raw);
}

void
_PG_init(void)
{
	/*
	 * The trees live in shared memory sized at postmaster start, and one worker owns RocksDB:
	 * both need the postmaster. Loaded any other way (CREATE EXTENSION loads the library for
	 * the handler), register nothing and refuse every use with a message that says what to do.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	alexidx_preloaded = true;

	define_startup_int("alexidx.memory",
					   "Shared memory for all alexidx trees.",
					   "Every alexidx index keeps its whole tree here. Raise it when an "
					   "insert or build reports that the arena is full.",
					   &alexidx_memory_mb, 1024, 16, INT_MAX / 2, GUC_UNIT_MB);
	DefineCustomBoolVariable("alexidx.keep_trees",
							 "Keeps the trees in shared memory across a clean restart.",
							 "A clean shutdown writes the arena's used pages to pg_alexidx/pgsql_tmp_arena "
							 "and the next start reads them back, instead of loading every tree from "
							 "the sidecar.",
							 &alexidx_keep_trees, true, PGC_POSTMASTER, 0, NULL, NULL, NULL);
	define_startup_int("alexidx.max_indexes",
					   "Most alexidx index builds that can be loaded at once.",
					   NULL, &alexidx_max_indexes, 1024, 16, 1000000, 0);
	DefineCustomIntVariable("alexidx.insert_buffer",
							"Entries a backend buffers per index before flushing them as one batch.",
							"Buffers are also flushed before the backend scans the index and at commit.",
							&alexidx_insert_buffer, 65536, 1, 16 * 1024 * 1024,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.prefetch_distance",
							"Rows ahead of an index scan whose heap tuples are brought into the CPU cache.",
							"0 turns it off. It only helps rows whose pages are already in shared buffers.",
							&alexidx_prefetch_distance, 16, 0, 128,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.sweep_interval",
							"Seconds between sweeps for sidecar ranges of dropped indexes.",
							NULL, &alexidx_sweep_interval, 10, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.standby_wait",
							"Longest a scan on a standby waits for the sidecar worker to apply the replayed WAL.",
							"The scan fails when the wait is over; it never returns a partial answer.",
							&alexidx_standby_wait_ms, 30000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.worker_start_timeout",
							"Longest a request waits for a sidecar worker that is not running.",
							"Changes to unlogged alexidx indexes, tree loads and alexidx_check then fail "
							"instead of waiting for the worker to start.",
							&alexidx_worker_start_timeout_ms, 60000, 1000, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("alexidx.hold_sidecar_apply",
							 "For tests: the sidecar worker stops applying WAL in the background.",
							 "The WAL stays the log of record and its replication slot keeps it; "
							 "a restart, a tree load or alexidx_check still catch the sidecar up.",
							 &alexidx_hold_sidecar_apply, false, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("alexidx.hold_arena_copy",
							 "For tests: after a clean restart, the sidecar worker waits before it copies the kept trees into memory.",
							 "Meanwhile the trees answer from the image of the last shutdown and changes wait.",
							 &alexidx_hold_arena_copy, false, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.test_worker_exit",
							"For tests: the sidecar worker exits once at this point, as if it failed there.",
							"1: before it serves a part of a large unlogged write that is not the first; "
							"2: after it wrote inserted entries, before it answers; 3: as 2, and the next worker "
							"holds the requests it takes over until the setting changes. 0 (off) arms it again.",
							&alexidx_test_worker_exit, 0, 0, 3, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("alexidx.snapshots",
							"Sidecar snapshots kept in pg_alexidx for base backups.",
							"One is written at every checkpoint; base backups carry them.",
							&alexidx_snapshots_kept, 3, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("alexidx");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_hook;

	define_reloptions();
	alexidx_wal_register();
	alexidx_register_worker();
	alexidx_insert_init();
	alexidx_database_copy_init();
	alexidx_flush_points_init();
	alexidx_cost_init();
}

PG_FUNCTION_INFO_V1(alexidx_handler);
Datum
alexidx_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = BTMaxStrategyNumber;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = true;
	amroutine->amcanorderbyop = false;
	amroutine->amcanbackward = true;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = true;
	amroutine->amsearchnulls = true;
	amroutine->amstorage = false;
	amroutine->amclusterable = true;	/* CLUSTER reads the index in order (an index scan) */
	amroutine->ampredlocks = true;
	amroutine->amcanparallel = true;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = 0;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = alexidx_build;
	amroutine->ambuildempty = alexidx_buildempty;
	amroutine->aminsert = alexidx_insert;
	amroutine->ambulkdelete = alexidx_bulkdelete;
	amroutine->amvacuumcleanup = alexidx_vacuumcleanup;
	amroutine->amcanreturn = alexidx_canreturn;
	amroutine->amcostestimate = alexidx_costestimate;
	amroutine->amoptions = alexidx_options;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = alexidx_buildphasename;
	amroutine->amvalidate = alexidx_validate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = alexidx_beginscan;
	amroutine->amrescan = alexidx_rescan;
	amroutine->amgettuple = alexidx_gettuple;
	amroutine->amgetbitmap = alexidx_getbitmap;
	amroutine->amendscan = alexidx_endscan;
	amroutine->ammarkpos = alexidx_markpos;
	amroutine->amrestrpos = alexidx_restrpos;
	amroutine->amestimateparallelscan = alexidx_estimateparallelscan;
	amroutine->aminitparallelscan = alexidx_initparallelscan;
	amroutine->amparallelrescan = alexidx_parallelrescan;

	PG_RETURN_POINTER(amroutine);
}

PG_FUNCTION_INFO_V1(alexidx_require_preload_sql);
Datum
alexidx_require_preload_sql(PG_FUNCTION_ARGS)
{
	alexidx_require_preload();
	PG_RETURN_VOID();
}

static relopt_kind alexidx_relopt_kind;

static void
define_reloptions(void)
{
	alexidx_relopt_kind = add_reloption_kind();
	add_int_reloption(alexidx_relopt_kind, "max_node_slots",
					  "Largest data node of the index's tree, in slots (0: library default).",
					  0, 0, 1 << 24, AccessExclusiveLock);
	add_int_reloption(alexidx_relopt_kind, "insert_buffer",
					  "Entries buffered per backend before a flush (0: alexidx.insert_buffer).",
					  0, 0, 16 * 1024 * 1024, ShareUpdateExclusiveLock);
}

bytea *
alexidx_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"max_node_slots", RELOPT_TYPE_INT, offsetof(AlexOptions, max_node_slots)},
		{"insert_buffer", RELOPT_TYPE_INT, offsetof(AlexOptions, insert_buffer)},
	};

	return (bytea *) build_reloptions(reloptions, validate, alexidx_relopt_kind,
									  sizeof(AlexOptions), tab, lengthof(tab));
}
