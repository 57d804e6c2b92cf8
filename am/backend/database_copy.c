/*
 * database_copy.c: CREATE DATABASE ... TEMPLATE copies every file of the template, alexidx
 * metapages included, so each copied index would name its template's build. Right after
 * PostgreSQL has copied the files, and while the template is still locked against change,
 * the sidecar worker copies each of the template's builds for the new database
 * (AXR_COPY_DATABASE); the copied index adopts its copy on first use (metapage.c).
 *
 * The statement is seen through ProcessUtility_hook (for the template's name) and the new
 * database's OID through the post-create object access hook. (The extension's one
 * ProcessUtility hook also lets flush_points.c flush insert buffers before each statement.)
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "storage/bufmgr.h"
#include "tcop/utility.h"

#include "alexidx.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
static object_access_hook_type prev_object_access = NULL;
static Oid	created_database = InvalidOid;

static const char *
template_name(CreatedbStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		/* TEMPLATE DEFAULT has no argument */
		if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
			return defGetString(opt);
	}
	return "template1";			/* createdb's default */
}

static void
process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				ProcessUtilityContext context, ParamListInfo params,
				QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			src = InvalidOid;

	alexidx_flush_before_utility(parsetree);
	if (IsA(parsetree, CreatedbStmt))
	{
		src = get_database_oid(template_name((CreatedbStmt *) parsetree), true);
		created_database = InvalidOid;
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
	if (IsA(parsetree, CreatedbStmt) && OidIsValid(src) && OidIsValid(created_database))
	{
		Oid			dst = created_database;

		created_database = InvalidOid;

		/*
		 * The sidecar worker tells a live index by its metapage on disk. STRATEGY WAL_LOG
		 * (the default) copies the files through shared buffers, so the copies' metapages may
		 * not be on disk until the next checkpoint, and a sweep in between would take the
		 * copied builds for dead: write them out first.
		 */
		FlushDatabaseBuffers(dst);
		alexidx_sidecar_copy_database(src, dst);
	}
}

static void
object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (access == OAT_POST_CREATE && classId == DatabaseRelationId)
		created_database = objectId;
}

void
alexidx_database_copy_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = process_utility;
	prev_object_access = object_access_hook;
	object_access_hook = object_access;
}
