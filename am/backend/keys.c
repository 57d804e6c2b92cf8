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
 * when the keys ask for them, the index's NULL entries. A date, timestamp or timestamptz value
 * compared with a column of another of the three types is turned into the range of column keys
 * for which PostgreSQL's own cross-type comparison holds (a binary search with it), so that
 * time zones, midnights and infinities come out exactly as a seq scan compares them.
 */
#include "postgres.h"

#include <math.h>

#include "access/skey.h"
#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
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

/* ---------- date, timestamp and timestamptz compared with each other ---------- */

static bool
is_datetime(Oid typid)
{
	return typid == DATEOID || typid == TIMESTAMPOID || typid == TIMESTAMPTZOID;
}

/* The finite keys of a date/time type, and its two infinities just outside them. */
static void
datetime_domain(Oid typid, int64 *fmin, int64 *fmax, int64 *nobegin, int64 *noend)
{
	if (typid == DATEOID)
	{
		*fmin = DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE;
		*fmax = DATE_END_JULIAN - POSTGRES_EPOCH_JDATE - 1;
		*nobegin = DATEVAL_NOBEGIN;
		*noend = DATEVAL_NOEND;
	}
	else
	{
		*fmin = MIN_TIMESTAMP;
		*fmax = END_TIMESTAMP - 1;
		*nobegin = DT_NOBEGIN;
		*noend = DT_NOEND;
	}
}

/* PostgreSQL's own cross-type comparison of a column value (key) with the argument. */
static int
datetime_cmp(Oid keytype, Oid argtype, int64 key, Datum arg)
{
	PGFunction	f = NULL;

	if (keytype == DATEOID)
		f = argtype == TIMESTAMPOID ? date_cmp_timestamp : date_cmp_timestamptz;
	else if (keytype == TIMESTAMPOID)
		f = argtype == DATEOID ? timestamp_cmp_date : timestamp_cmp_timestamptz;
	else
		f = argtype == DATEOID ? timestamptz_cmp_date : timestamptz_cmp_timestamp;
	return DatumGetInt32(DirectFunctionCall2(f, alexidx_key_to_datum(key, keytype), arg));
}

/*
 * The last column key x (in the key order) with cmp(x, arg) < 0 (strict) or <= 0, as a
 * position: fmin - 1 stands for -infinity, fmax + 1 for +infinity, fmin - 2 for "none".
 * cmp grows with x, so a binary search finds it; it starts from a bracket around the
 * argument's plain conversion, so that it never probes values far from it (a conversion of an
 * extreme value can overflow), and widens to the whole domain when that does not bracket.
 */
static int64
datetime_last(Oid keytype, Oid argtype, Datum arg, bool strict, int64 approx)
{
	int64		fmin,
				fmax,
				nobegin,
				noend;
	int64		lo,
				hi;
	int			attempt;

	datetime_domain(keytype, &fmin, &fmax, &nobegin, &noend);
#define DT_KEY(pos) ((pos) < fmin ? nobegin : (pos) > fmax ? noend : (pos))
#define DT_TRUE(pos) (strict ? datetime_cmp(keytype, argtype, DT_KEY(pos), arg) < 0 \
					  : datetime_cmp(keytype, argtype, DT_KEY(pos), arg) <= 0)
	for (attempt = 0; attempt < 2; attempt++)
	{
		/* a bracket of two days either way (in the column's units), then everything */
		int64		margin = keytype == DATEOID ? 2 : 2 * USECS_PER_DAY;

		lo = attempt == 0 ? Max(approx, fmin + margin) - margin : fmin - 1;
		hi = attempt == 0 ? Min(approx, fmax - margin) + margin : fmax + 1;
		if (!DT_TRUE(lo))
		{
			if (attempt == 1)
				return fmin - 2;
			continue;
		}
		if (DT_TRUE(hi))
		{
			if (attempt == 1)
				return hi;
			continue;
		}
		/* DT_TRUE(lo) and not DT_TRUE(hi) */
		while ((uint64) hi - (uint64) lo > 1)
		{
			/* the whole domain spans more than INT64_MAX: halve in unsigned arithmetic */
			int64		mid = lo + (int64) (((uint64) hi - (uint64) lo) / 2);

			if (DT_TRUE(mid))
				lo = mid;
			else
				hi = mid;
		}
		return lo;
	}
#undef DT_TRUE
#undef DT_KEY
	return fmin - 2;			/* not reached */
}

/*
 * Narrows [lo, hi] by `column OP arg` where arg is another date/time type than the column:
 * the keys for which PostgreSQL's cross-type comparison holds. false when none can match.
 *
 * One pair is not monotonic: a timestamp column compared with a timestamptz reads each column
 * value in the session's time zone, and a local time that a clock change skips (02:30 on a
 * spring-forward night) reads as later than the next valid one. There the keys that match
 * need not be one range: the range reaches a day beyond the argument on the open side and
 * *recheck is set, so that the executor tests every row it gets with the comparison itself.
 */
static bool
apply_datetime_bound(Oid keytype, Oid argtype, int strategy, Datum arg, int64 *lo, int64 *hi,
					 bool *recheck)
{
	int64		fmin,
				fmax,
				nobegin,
				noend;
	int64		raw = alexidx_datum_to_key(arg, argtype);
	int64		approx;
	int64		lt,
				le;

	datetime_domain(keytype, &fmin, &fmax, &nobegin, &noend);
	/* where the argument falls among the column's keys, roughly (the search corrects it) */
	if (argtype == DATEOID && keytype != DATEOID)
		approx = (raw == DATEVAL_NOBEGIN || raw == DATEVAL_NOEND) ? (raw < 0 ? fmin : fmax)
			: Max(Min(raw, fmax / USECS_PER_DAY), fmin / USECS_PER_DAY) * USECS_PER_DAY;
	else if (keytype == DATEOID && argtype != DATEOID)
		approx = (raw == DT_NOBEGIN || raw == DT_NOEND) ? (raw < 0 ? fmin : fmax) : raw / USECS_PER_DAY;
	else
		approx = (raw == DT_NOBEGIN || raw == DT_NOEND) ? (raw < 0 ? fmin : fmax) : raw;
	approx = Max(fmin, Min(fmax, approx));

	if (keytype == TIMESTAMPOID && argtype == TIMESTAMPTZOID && raw != DT_NOBEGIN && raw != DT_NOEND)
	{
		/*
		 * A local time is within a day of its UTC instant in every time zone: the keys that
		 * match lie within a day of the argument's own value, and the executor tests each row.
		 */
		int64		below = raw - Min(USECS_PER_DAY, raw - PG_INT64_MIN);
		int64		above = raw + Min(USECS_PER_DAY, PG_INT64_MAX - raw);

		*recheck = true;
		if (strategy == BTLessStrategyNumber || strategy == BTLessEqualStrategyNumber ||
			strategy == BTEqualStrategyNumber)
			*hi = Min(*hi, Min(above, fmax));
		if (strategy == BTGreaterStrategyNumber || strategy == BTGreaterEqualStrategyNumber ||
			strategy == BTEqualStrategyNumber)
			*lo = Max(*lo, Max(below, fmin));
		return *lo <= *hi;
	}
	lt = datetime_last(keytype, argtype, arg, true, approx);
	le = datetime_last(keytype, argtype, arg, false, approx);
#define DT_BOUND(pos) ((pos) < fmin ? nobegin : (pos) > fmax ? noend : (pos))
	switch (strategy)
	{
		case BTLessStrategyNumber:
			if (lt < fmin - 1)
				return false;
			*hi = Min(*hi, DT_BOUND(lt));
			break;
		case BTLessEqualStrategyNumber:
			if (le < fmin - 1)
				return false;
			*hi = Min(*hi, DT_BOUND(le));
			break;
		case BTEqualStrategyNumber:
			if (le < fmin - 1 || lt + 1 > le)
				return false;
			*lo = Max(*lo, DT_BOUND(lt + 1));
			*hi = Min(*hi, DT_BOUND(le));
			break;
		case BTGreaterEqualStrategyNumber:
			if (lt + 1 > fmax + 1)
				return false;
			*lo = Max(*lo, DT_BOUND(lt + 1));
			break;
		case BTGreaterStrategyNumber:
			if (le + 1 > fmax + 1)
				return false;
			*lo = Max(*lo, DT_BOUND(le + 1));
			break;
		default:
			elog(ERROR, "alexidx: unexpected strategy %d", strategy);
	}
#undef DT_BOUND
	return *lo <= *hi;
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

/* A set of disjoint key intervals, sorted: what an IN list allows. */
typedef struct KeySet
{
	int64	   *lo;
	int64	   *hi;
	int			n;
} KeySet;

static int
cmp_interval(const void *a, const void *b)
{
	const int64 *x = a,
			   *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * The IN list's values as key intervals: each value is one key, but a value of another
 * date/time type than the column matches the keys of its cross-type equality, which may be
 * none (a timestamp that is not midnight, against dates) or, around a time zone change, more
 * than one.
 */
static KeySet
in_list_set(const int64 *vals, int nvals, Oid keytype, Oid argtype, bool *recheck)
{
	KeySet		set;
	int64	   *pairs = palloc(sizeof(int64) * 2 * Max(nvals, 1));
	int			i,
				n = 0;

	for (i = 0; i < nvals; i++)
	{
		int64		lo = PG_INT64_MIN,
					hi = PG_INT64_MAX;

		if (argtype == keytype || !is_datetime(argtype) || !is_datetime(keytype))
			lo = hi = vals[i];
		else if (!apply_datetime_bound(keytype, argtype, BTEqualStrategyNumber,
									   alexidx_key_to_datum(vals[i], argtype), &lo, &hi, recheck))
			continue;
		pairs[2 * n] = lo;
		pairs[2 * n + 1] = hi;
		n++;
	}
	qsort(pairs, n, sizeof(int64) * 2, cmp_interval);
	set.lo = palloc(sizeof(int64) * Max(n, 1));
	set.hi = palloc(sizeof(int64) * Max(n, 1));
	set.n = 0;
	for (i = 0; i < n; i++)
	{
		if (set.n > 0 && pairs[2 * i] <= set.hi[set.n - 1])
			set.hi[set.n - 1] = Max(set.hi[set.n - 1], pairs[2 * i + 1]);
		else
		{
			set.lo[set.n] = pairs[2 * i];
			set.hi[set.n] = pairs[2 * i + 1];
			set.n++;
		}
	}
	pfree(pairs);
	return set;
}

/* Keeps in a what b also allows (both sorted and disjoint). */
static void
intersect(KeySet *a, const KeySet *b)
{
	int			i = 0,
				j = 0,
				n = 0;
	int64	   *lo = palloc(sizeof(int64) * Max(a->n + b->n, 1));
	int64	   *hi = palloc(sizeof(int64) * Max(a->n + b->n, 1));

	while (i < a->n && j < b->n)
	{
		int64		l = Max(a->lo[i], b->lo[j]),
					h = Min(a->hi[i], b->hi[j]);

		if (l <= h)
		{
			lo[n] = l;
			hi[n] = h;
			n++;
		}
		if (a->hi[i] < b->hi[j])
			i++;
		else
			j++;
	}
	a->lo = lo;
	a->hi = hi;
	a->n = n;
}

/* Narrows [lo, hi] by column OP value, cross-type date/time comparisons included. */
static bool
apply_key_bound(Oid keytype, Oid argtype, int strategy, int64 v, int64 *lo, int64 *hi,
				bool *recheck)
{
	if (argtype != keytype && is_datetime(argtype) && is_datetime(keytype))
		return apply_datetime_bound(keytype, argtype, strategy, alexidx_key_to_datum(v, argtype),
									lo, hi, recheck);
	return apply_bound(strategy, v, lo, hi);
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
	KeySet		eq = {NULL, NULL, -1};	/* n -1: no IN list seen */
	int			i;

	plan->want_nulls = false;
	plan->recheck = false;
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
				KeySet		set = in_list_set(vals, n, keytype, argtype, &plan->recheck);

				if (eq.n < 0)
					eq = set;
				else
					intersect(&eq, &set);
				possible = eq.n > 0;
			}
			/* x < ANY(a) is x < max(a); x > ANY(a) is x > min(a) */
			else if (key->sk_strategy == BTLessStrategyNumber ||
					 key->sk_strategy == BTLessEqualStrategyNumber)
				possible = apply_key_bound(keytype, argtype, key->sk_strategy, vals[n - 1], &lo, &hi,
										   &plan->recheck);
			else
				possible = apply_key_bound(keytype, argtype, key->sk_strategy, vals[0], &lo, &hi,
										   &plan->recheck);
			continue;
		}
		possible = apply_key_bound(keytype, argtype, key->sk_strategy,
								   alexidx_datum_to_key(key->sk_argument, argtype), &lo, &hi,
								   &plan->recheck);
	}
	if (!possible || (is_null && (value_keys || not_null)))
		return;

	plan->want_nulls = is_null || (!value_keys && !not_null);
	if (is_null)
		return;
	if (eq.n < 0)
	{
		plan->lo[0] = lo;
		plan->hi[0] = hi;
		plan->nranges = 1;
		return;
	}
	for (i = 0; i < eq.n; i++)
		if (eq.hi[i] >= lo && eq.lo[i] <= hi)
		{
			if (plan->nranges == plan->maxranges)
			{
				plan->maxranges *= 2;
				plan->lo = repalloc(plan->lo, sizeof(int64) * plan->maxranges);
				plan->hi = repalloc(plan->hi, sizeof(int64) * plan->maxranges);
			}
			plan->lo[plan->nranges] = Max(eq.lo[i], lo);
			plan->hi[plan->nranges] = Min(eq.hi[i], hi);
			plan->nranges++;
		}
}
