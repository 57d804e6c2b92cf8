/*
 * keys.c: mapping column values and scan keys onto the trees' int64 key space.
 *
 * Every supported type maps to int64 in an order-preserving way, so one tree type serves all
 * of them:
 *   - int2, int4, int8, date, timestamp, timestamptz: their own integer value (infinite dates
 *     and timestamps are already the extremes of their integer range);
 *   - oid: its unsigned value;
 *   - float4, float8: the IEEE bits made monotonic, with -0 folded onto +0 and every NaN onto
 *     one key above +Infinity, because PostgreSQL sorts floats that way.
 * A scan becomes a list of disjoint [lo, hi] ranges (one, or one per IN-list value), plus,
 * when the keys ask for them, the index's NULL entries.
 */
#include "postgres.h"

#include <math.h>

#include "access/skey.h"
#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "alexidx.h"

bool
alexidx_type_supported(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case OIDOID:
			return true;
		default:
			return false;
	}
}

static int64
float_to_key(double d)
{
	uint64		bits;

	if (isnan(d))
		return PG_INT64_MAX;
	if (d == 0.0)
		d = 0.0;				/* -0 equals +0 */
	memcpy(&bits, &d, sizeof(bits));
	/* negative: flip all bits; positive: set the sign bit; then recentre on signed int64 */
	bits = (bits & UINT64CONST(0x8000000000000000)) ? ~bits : bits | UINT64CONST(0x8000000000000000);
	return (int64) (bits ^ UINT64CONST(0x8000000000000000));
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
		case DATEOID:
			return DatumGetDateADT(value);
		case TIMESTAMPOID:
			return DatumGetTimestamp(value);
		case TIMESTAMPTZOID:
			return DatumGetTimestampTz(value);
		case OIDOID:
			return (int64) DatumGetObjectId(value);
		case FLOAT4OID:
			return float_to_key((double) DatumGetFloat4(value));
		case FLOAT8OID:
			return float_to_key(DatumGetFloat8(value));
		default:
			elog(ERROR, "alexidx: unsupported key type %u", typid);
	}
	return 0;					/* keep the compiler quiet */
}

/*
 * The type keys are mapped from: the operator class's input type, so that a column of a
 * domain over bigint, or of regclass under oid_ops, maps like its base type.
 */
Oid
alexidx_index_key_type(Relation index)
{
	return index->rd_opcintype[0];
}

bool
alexidx_key_returnable(Oid typid)
{
	/* a float key cannot tell -0 from +0: the heap must answer for those */
	return alexidx_type_supported(typid) && typid != FLOAT4OID && typid != FLOAT8OID;
}

Datum
alexidx_key_to_datum(int64 key, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return Int16GetDatum((int16) key);
		case INT4OID:
			return Int32GetDatum((int32) key);
		case INT8OID:
			return Int64GetDatum(key);
		case DATEOID:
			return DateADTGetDatum((DateADT) key);
		case TIMESTAMPOID:
			return TimestampGetDatum((Timestamp) key);
		case TIMESTAMPTZOID:
			return TimestampTzGetDatum((TimestampTz) key);
		case OIDOID:
			return ObjectIdGetDatum((Oid) key);
		default:
			elog(ERROR, "alexidx: cannot return keys of type %u", typid);
	}
	return (Datum) 0;
}

/* Narrows [lo, hi] by one comparison; false when nothing can match. */
static bool
apply_bound(int strategy, int64 v, int64 *lo, int64 *hi)
{
	switch (strategy)
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
			elog(ERROR, "alexidx: unexpected strategy %d", strategy);
	}
	return *lo <= *hi;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* The array's non-NULL elements as keys, sorted and distinct. */
static int64 *
array_keys(ScanKey key, Oid elemtype, int *nout)
{
	ArrayType  *arr = DatumGetArrayTypeP(key->sk_argument);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems,
				i,
				n = 0;
	int64	   *keys;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	keys = palloc(sizeof(int64) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			keys[n++] = alexidx_datum_to_key(elems[i], elemtype);
	qsort(keys, n, sizeof(int64), cmp_int64);
	if (n > 1)
	{
		int			w = 1;

		for (i = 1; i < n; i++)
			if (keys[i] != keys[w - 1])
				keys[w++] = keys[i];
		n = w;
	}
	*nout = n;
	return keys;
}

/* Keeps the values present in both sorted sets. */
static int
intersect(int64 *a, int na, const int64 *b, int nb)
{
	int			i = 0,
				j = 0,
				n = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			a[n++] = a[i];
			i++;
			j++;
		}
	}
	return n;
}

void
alexidx_plan_scan(ScanKey keys, int nkeys, Oid keytype, AxScanPlan *plan)
{
	int64		lo = PG_INT64_MIN,
				hi = PG_INT64_MAX;
	bool		possible = true;
	bool		value_keys = false,
				is_null = false,
				not_null = false;
	int64	   *eq = NULL;
	int			neq = -1;		/* -1: no IN list seen */
	int			i;

	plan->want_nulls = false;
	plan->nranges = 0;
	for (i = 0; i < nkeys && possible; i++)
	{
		ScanKey		key = &keys[i];
		Oid			argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : keytype;

		if (key->sk_flags & SK_ISNULL)
		{
			if (key->sk_flags & SK_SEARCHNULL)
				is_null = true;
			else if (key->sk_flags & SK_SEARCHNOTNULL)
				not_null = true;
			else
				possible = false;	/* every operator is strict: x op NULL matches nothing */
			continue;
		}
		value_keys = true;
		if (key->sk_flags & SK_SEARCHARRAY)
		{
			int			n;
			int64	   *vals = array_keys(key, argtype, &n);

			if (n == 0)
				possible = false;
			else if (key->sk_strategy == BTEqualStrategyNumber)
			{
				if (neq < 0)
				{
					eq = vals;
					neq = n;
				}
				else
					neq = intersect(eq, neq, vals, n);
			}
			/* x < ANY(a) is x < max(a); x > ANY(a) is x > min(a) */
			else if (key->sk_strategy == BTLessStrategyNumber ||
					 key->sk_strategy == BTLessEqualStrategyNumber)
				possible = apply_bound(key->sk_strategy, vals[n - 1], &lo, &hi);
			else
				possible = apply_bound(key->sk_strategy, vals[0], &lo, &hi);
			continue;
		}
		possible = apply_bound(key->sk_strategy,
							   alexidx_datum_to_key(key->sk_argument, argtype), &lo, &hi);
	}
	if (!possible || (is_null && (value_keys || not_null)))
		return;

	plan->want_nulls = is_null || (!value_keys && !not_null);
	if (is_null)
		return;
	if (neq < 0)
	{
		plan->lo[0] = lo;
		plan->hi[0] = hi;
		plan->nranges = 1;
		return;
	}
	for (i = 0; i < neq; i++)
		if (eq[i] >= lo && eq[i] <= hi)
		{
			if (plan->nranges == plan->maxranges)
			{
				plan->maxranges *= 2;
				plan->lo = repalloc(plan->lo, sizeof(int64) * plan->maxranges);
				plan->hi = repalloc(plan->hi, sizeof(int64) * plan->maxranges);
			}
			plan->lo[plan->nranges] = plan->hi[plan->nranges] = eq[i];
			plan->nranges++;
		}
}
