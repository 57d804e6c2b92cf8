/*
 * validate.c: amvalidate, the checks behind CREATE OPERATOR CLASS and amvalidate().
 *
 * Every operator must be a btree-numbered comparison (strategies 1-5) between types alexidx
 * can map to its key space, and support function 1 must be a btree-style three-way comparison.
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "alexidx.h"

bool
alexidx_validate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	char	   *opclassname;
	CatCList   *oprlist;
	CatCList   *proclist;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opclassname = NameStr(classform->opcname);

	if (!alexidx_type_supported(classform->opcintype))
	{
		ereport(INFO,
				(errmsg("alexidx operator class \"%s\" is for unsupported type %s",
						opclassname, format_type_be(classform->opcintype))));
		result = false;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (op->amopstrategy < 1 || op->amopstrategy > BTMaxStrategyNumber ||
			op->amoppurpose != AMOP_SEARCH)
		{
			ereport(INFO,
					(errmsg("alexidx operator family contains operator %s with invalid strategy %d",
							format_operator(op->amopopr), op->amopstrategy)));
			result = false;
		}
		if (!alexidx_type_supported(op->amoplefttype) || !alexidx_type_supported(op->amoprighttype))
		{
			ereport(INFO,
					(errmsg("alexidx operator family contains operator %s on unsupported types",
							format_operator(op->amopopr))));
			result = false;
		}
		else if (alexidx_type_wide(op->amoplefttype) != alexidx_type_wide(op->amoprighttype))
		{
			/* a uuid key and a one-word key have no common order */
			ereport(INFO,
					(errmsg("alexidx operator family contains operator %s comparing uuid with another type",
							format_operator(op->amopopr))));
			result = false;
		}
		if (!check_amop_signature(op->amopopr, BOOLOID, op->amoplefttype, op->amoprighttype))
		{
			ereport(INFO,
					(errmsg("alexidx operator family contains operator %s with wrong signature",
							format_operator(op->amopopr))));
			result = false;
		}
	}

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (proc->amprocnum != 1 ||
			!check_amproc_signature(proc->amproc, INT4OID, true, 2, 2,
									proc->amproclefttype, proc->amprocrighttype))
		{
			ereport(INFO,
					(errmsg("alexidx operator family contains invalid support function %s",
							format_procedure(proc->amproc))));
			result = false;
		}
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(classtup);
	return result;
}
