/*
 * keys.c: mapping column values and scan keys onto the trees' int64 key space.
 *
 * Every supported type maps to int64 in an order-preserving way, so one tree type serves
 * all of them and a scan is always one inclusive [lo, hi] range of that space.
 */
#include "postgres.h"

#include "access/skey.h"
#include "access/stratnum.h"
#include "catalog/pg_type.h"

#include "alexidx.h"

bool
alexidx_type_supported(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return true;
		default:
			return false;
	}
}

int64
alexidx_datum_to_key(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		case INT8OID:
			return DatumGetInt64(value);
		default:
			elog(ERROR, "alexidx: unsupported key type %u", typid);
	}
	return 0;					/* keep the compiler quiet */
}

bool
alexidx_keys_to_range(ScanKey keys, int nkeys, Oid keytype, int64 *lo, int64 *hi)
{
	int			i;

	*lo = PG_INT64_MIN;
	*hi = PG_INT64_MAX;
	for (i = 0; i < nkeys; i++)
	{
		ScanKey		key = &keys[i];
		Oid			argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : keytype;
		int64		v;

		/* every operator is strict: comparing with NULL matches nothing */
		if (key->sk_flags & SK_ISNULL)
			return false;
		v = alexidx_datum_to_key(key->sk_argument, argtype);
		switch (key->sk_strategy)
		{
			case BTLessStrategyNumber:
				if (v == PG_INT64_MIN)
					return false;
				*hi = Min(*hi, v - 1);
				break;
			case BTLessEqualStrategyNumber:
				*hi = Min(*hi, v);
				break;
			case BTEqualStrategyNumber:
				*lo = Max(*lo, v);
				*hi = Min(*hi, v);
				break;
			case BTGreaterEqualStrategyNumber:
				*lo = Max(*lo, v);
				break;
			case BTGreaterStrategyNumber:
				if (v == PG_INT64_MAX)
					return false;
				*lo = Max(*lo, v + 1);
				break;
			default:
				elog(ERROR, "alexidx: unexpected strategy %d", key->sk_strategy);
		}
	}
	return *lo <= *hi;
}
