/*
 * keys.c: mapping column values and scan keys onto the trees' key space.
 *
 * Every supported type maps to a key in an order-preserving way. Narrow keys are one int64
 * (AxEntry.key; key_lo is 0):
 *   - int2, int4, int8, date, timestamp, timestamptz: their own integer value (infinite dates
 *     and timestamps are already the extremes of their integer range);
 *   - oid: its unsigned value;
 *   - float4, float8: the IEEE bits made monotonic, with -0 folded onto +0 and every NaN onto
 *     one key above +Infinity, because PostgreSQL sorts floats that way.
 * A uuid is a wide key: all 16 bytes, as two words compared in turn, which is PostgreSQL's
 * bytewise uuid order; the trees route on the leading word and compare both.
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
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

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
		case UUIDOID:
			return true;
		default:
			return false;
	}
}

bool
alexidx_type_wide(Oid typid)
{
	return typid == UUIDOID;
}

/* A uuid's 16 bytes, big-endian, as two words: the leading one with its sign bit flipped. */
static AxKey
uuid_to_key(const pg_uuid_t *u)
{
	AxKey		k;
	uint64		hi = 0,
				lo = 0;
	int			i;

	for (i = 0; i < 8; i++)
	{
		hi = (hi << 8) | u->data[i];
		lo = (lo << 8) | u->data[8 + i];
	}
	k.key = (int64) (hi ^ UINT64CONST(0x8000000000000000));
	k.key_lo = lo;
	return k;
}

void
alexidx_key_to_uuid(AxKey key, pg_uuid_t *out)
{
	uint64		hi = (uint64) key.key ^ UINT64CONST(0x8000000000000000),
				lo = key.key_lo;
	int			i;

	for (i = 7; i >= 0; i--)
	{
		out->data[i] = (unsigned char) (hi & 0xff);
		out->data[8 + i] = (unsigned char) (lo & 0xff);
		hi >>= 8;
		lo >>= 8;
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

static int64
narrow_datum_to_key(Datum value, Oid typid)
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

AxKey
alexidx_datum_to_key(Datum value, Oid typid)
{
	AxKey		k;

	if (typid == UUIDOID)
		return uuid_to_key(DatumGetUUIDP(value));
	k.key = narrow_datum_to_key(value, typid);
	k.key_lo = 0;
	return k;
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
alexidx_key_to_datum(AxKey k, Oid typid)
{
	int64		key = k.key;

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
		case UUIDOID:
			{
				pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

				alexidx_key_to_uuid(k, u);
				return UUIDPGetDatum(u);
			}
		default:
			elog(ERROR, "alexidx: cannot return keys of type %u", typid);
	}
	return (Datum) 0;
}

/* A key for messages: its int64 image, or a wide key as its type prints it. */
char *
alexidx_key_string(AxKey key, Oid typid)
{
	if (alexidx_type_wide(typid))
	{
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(typid, &output, &varlena);
		return OidOutputFunctionCall(output, alexidx_key_to_datum(key, typid));
	}
	return psprintf(INT64_FORMAT, key.key);
}

/* ---------- date, timestamp and timestamptz compared with each other ---------- */

static inline AxKey
narrow_key(int64 v)
{
	AxKey		k = {v, 0};

	return k;
}

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

/*
 * How far from a timestamptz instant (usecs) the local times (timestamp keys) lie that the
 * session's time zone maps onto it: between the smallest and the largest UTC offset the zone
 * takes near it, in microseconds (east positive). PostgreSQL maps a local time t to t minus an
 * offset in effect within about a week of t (DetermineTimeZoneOffset looks at the day before
 * t and the next transition), and accepts offsets of up to a week (SET TIME ZONE INTERVAL
 * '+30:00' HOUR TO MINUTE, '<+150>-150'): so a local time whose instant falls within a week
 * of usecs has one of the offsets in effect within 16 days of it.
 */
static void
zone_offsets_near(int64 usecs, int64 *lo_off, int64 *hi_off)
{
	long		gmtoff;
	long		mn = LONG_MAX,
				mx = LONG_MIN;
	pg_time_t	t,
				end;
	int			i;

	/* UTC and other zones of one offset: the match is exact */
	if (pg_get_timezone_offset(session_timezone, &gmtoff))
	{
		*lo_off = *hi_off = (int64) gmtoff * USECS_PER_SEC;
		return;
	}
	t = usecs / USECS_PER_SEC + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY -
		16 * SECS_PER_DAY;
	end = t + 32 * SECS_PER_DAY;
	for (i = 0; i < 256; i++)
	{
		long		before,
					after;
		int			before_dst,
					after_dst;
		pg_time_t	boundary;
		int			res = pg_next_dst_boundary(&t, &before, &before_dst, &boundary, &after,
											   &after_dst, session_timezone);

		if (res < 0)
			break;
		mn = Min(mn, before);
		mx = Max(mx, before);
		if (res == 0 || boundary > end)
		{
			*lo_off = (int64) mn * USECS_PER_SEC;
			*hi_off = (int64) mx * USECS_PER_SEC;
			return;
		}
		mn = Min(mn, after);
		mx = Max(mx, after);
		t = boundary + 1;
	}
	/* the zone would not say: more than any offset PostgreSQL accepts, either way */
	*lo_off = -8 * USECS_PER_DAY;
	*hi_off = 8 * USECS_PER_DAY;
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
	return DatumGetInt32(DirectFunctionCall2(f, alexidx_key_to_datum(narrow_key(key), keytype), arg));
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
	int64		raw = narrow_datum_to_key(arg, argtype);
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
		 * The keys that match lie between the argument plus the smallest and plus the largest
		 * offset of the session's time zone near it (a local time is not monotonic in its
		 * instant across a DST change): that window is read and the executor tests each row.
		 * Near the ends of the range, where the conversion overflows, the side stays open.
		 */
		int64		lo_off,
					hi_off,
					below = fmin,
					above = fmax;

		if (raw > fmin + 16 * USECS_PER_DAY && raw < fmax - 16 * USECS_PER_DAY)
		{
			zone_offsets_near(raw, &lo_off, &hi_off);
			below = raw + lo_off;
			above = raw + hi_off;
		}
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

/* ---------- keys as (key, key_lo) pairs: one order for narrow and wide keys ---------- */

/*
 * A plan's bounds are AxKeys, ordered by (key, key_lo). Narrow keys have key_lo 0, so the
 * key just above a narrow v is (v, 1) and the one below it (v - 1, UINT64_MAX): bounds that no
 * narrow entry equals but that order every narrow entry rightly. normalize_narrow() turns them
 * back into plain narrow bounds at the end, for the narrow trees, which look at key alone.
 */
static const AxKey KEY_MIN = {PG_INT64_MIN, 0};
static const AxKey KEY_MAX = {PG_INT64_MAX, PG_UINT64_MAX};

static inline int
key_cmp(AxKey a, AxKey b)
{
	if (a.key != b.key)
		return a.key < b.key ? -1 : 1;
	if (a.key_lo != b.key_lo)
		return a.key_lo < b.key_lo ? -1 : 1;
	return 0;
}

static inline AxKey
key_max(AxKey a, AxKey b)
{
	return key_cmp(a, b) >= 0 ? a : b;
}

static inline AxKey
key_min(AxKey a, AxKey b)
{
	return key_cmp(a, b) <= 0 ? a : b;
}

/* The next key up; v is not KEY_MAX. */
static AxKey
key_succ(AxKey v)
{
	if (v.key_lo == PG_UINT64_MAX)
		return narrow_key(v.key + 1);
	v.key_lo++;
	return v;
}

/* The next key down; v is not KEY_MIN. */
static AxKey
key_pred(AxKey v)
{
	if (v.key_lo == 0)
	{
		AxKey		k = {v.key - 1, PG_UINT64_MAX};

		return k;
	}
	v.key_lo--;
	return v;
}

/*
 * [lo, hi] as bounds on narrow keys: lo rounds up to the next key with key_lo 0, hi down.
 * false when no narrow key lies in it.
 */
static bool
normalize_narrow(AxKey *lo, AxKey *hi)
{
	if (lo->key_lo != 0)
	{
		if (lo->key == PG_INT64_MAX)
			return false;
		*lo = narrow_key(lo->key + 1);
	}
	hi->key_lo = 0;
	return key_cmp(*lo, *hi) <= 0;
}

/* The date/time bound on AxKeys: the column's keys are narrow. */
static bool
apply_datetime_key_bound(Oid keytype, Oid argtype, int strategy, Datum arg, AxKey *lo, AxKey *hi,
						 bool *recheck)
{
	int64		l,
				h;
	bool		ok;

	if (!normalize_narrow(lo, hi))
		return false;
	l = lo->key;
	h = hi->key;
	ok = apply_datetime_bound(keytype, argtype, strategy, arg, &l, &h, recheck);
	*lo = narrow_key(l);
	*hi = narrow_key(h);
	return ok;
}

/* Narrows [lo, hi] by one comparison; false when nothing can match. */
static bool
apply_bound(int strategy, AxKey v, AxKey *lo, AxKey *hi)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			if (key_cmp(v, KEY_MIN) == 0)
				return false;
			*hi = key_min(*hi, key_pred(v));
			break;
		case BTLessEqualStrategyNumber:
			*hi = key_min(*hi, v);
			break;
		case BTEqualStrategyNumber:
			*lo = key_max(*lo, v);
			*hi = key_min(*hi, v);
			break;
		case BTGreaterEqualStrategyNumber:
			*lo = key_max(*lo, v);
			break;
		case BTGreaterStrategyNumber:
			if (key_cmp(v, KEY_MAX) == 0)
				return false;
			*lo = key_max(*lo, key_succ(v));
			break;
		default:
			elog(ERROR, "alexidx: unexpected strategy %d", strategy);
	}
	return key_cmp(*lo, *hi) <= 0;
}

static int
cmp_key(const void *a, const void *b)
{
	return key_cmp(*(const AxKey *) a, *(const AxKey *) b);
}

/* The array's non-NULL elements as keys, sorted and distinct. */
static AxKey *
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
	AxKey	   *keys;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &nelems);
	keys = palloc(sizeof(AxKey) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			keys[n++] = alexidx_datum_to_key(elems[i], elemtype);
	qsort(keys, n, sizeof(AxKey), cmp_key);
	if (n > 1)
	{
		int			w = 1;

		for (i = 1; i < n; i++)
			if (key_cmp(keys[i], keys[w - 1]) != 0)
				keys[w++] = keys[i];
		n = w;
	}
	*nout = n;
	return keys;
}

/* A set of disjoint key intervals, sorted: what an IN list allows. */
typedef struct KeySet
{
	AxKey	   *lo;
	AxKey	   *hi;
	int			n;
} KeySet;

static int
cmp_interval(const void *a, const void *b)
{
	return key_cmp(((const AxKey *) a)[0], ((const AxKey *) b)[0]);
}

/*
 * The IN list's values as key intervals: each value is one key, but a value of another
 * date/time type than the column matches the keys of its cross-type equality, which may be
 * none (a timestamp that is not midnight, against dates) or, around a time zone change, more
 * than one.
 */
static KeySet
in_list_set(const AxKey *vals, int nvals, Oid keytype, Oid argtype, bool *recheck)
{
	KeySet		set;
	AxKey	   *pairs = palloc(sizeof(AxKey) * 2 * Max(nvals, 1));
	int			i,
				n = 0;

	for (i = 0; i < nvals; i++)
	{
		AxKey		lo = KEY_MIN,
					hi = KEY_MAX;

		if (argtype == keytype || !is_datetime(argtype) || !is_datetime(keytype))
			lo = hi = vals[i];
		else if (!apply_datetime_key_bound(keytype, argtype, BTEqualStrategyNumber,
										   alexidx_key_to_datum(vals[i], argtype), &lo, &hi, recheck))
			continue;
		pairs[2 * n] = lo;
		pairs[2 * n + 1] = hi;
		n++;
	}
	qsort(pairs, n, sizeof(AxKey) * 2, cmp_interval);
	set.lo = palloc(sizeof(AxKey) * Max(n, 1));
	set.hi = palloc(sizeof(AxKey) * Max(n, 1));
	set.n = 0;
	for (i = 0; i < n; i++)
	{
		if (set.n > 0 && key_cmp(pairs[2 * i], set.hi[set.n - 1]) <= 0)
			set.hi[set.n - 1] = key_max(set.hi[set.n - 1], pairs[2 * i + 1]);
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
	AxKey	   *lo = palloc(sizeof(AxKey) * Max(a->n + b->n, 1));
	AxKey	   *hi = palloc(sizeof(AxKey) * Max(a->n + b->n, 1));

	while (i < a->n && j < b->n)
	{
		AxKey		l = key_max(a->lo[i], b->lo[j]),
					h = key_min(a->hi[i], b->hi[j]);

		if (key_cmp(l, h) <= 0)
		{
			lo[n] = l;
			hi[n] = h;
			n++;
		}
		if (key_cmp(a->hi[i], b->hi[j]) < 0)
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
apply_key_bound(Oid keytype, Oid argtype, int strategy, AxKey v, AxKey *lo, AxKey *hi,
				bool *recheck)
{
	if (argtype != keytype && is_datetime(argtype) && is_datetime(keytype))
		return apply_datetime_key_bound(keytype, argtype, strategy,
										alexidx_key_to_datum(v, argtype), lo, hi, recheck);
	return apply_bound(strategy, v, lo, hi);
}

/* Appends [lo, hi] to the plan (narrow bounds made plain first); drops an empty range. */
static void
plan_add_range(AxScanPlan *plan, bool wide, AxKey lo, AxKey hi)
{
	if (!wide && !normalize_narrow(&lo, &hi))
		return;
	if (plan->nranges == plan->maxranges)
	{
		plan->maxranges *= 2;
		plan->lo = repalloc(plan->lo, sizeof(AxKey) * plan->maxranges);
		plan->hi = repalloc(plan->hi, sizeof(AxKey) * plan->maxranges);
	}
	plan->lo[plan->nranges] = lo;
	plan->hi[plan->nranges] = hi;
	plan->nranges++;
}

void
alexidx_plan_scan(ScanKey keys, int nkeys, Oid keytype, AxScanPlan *plan)
{
	AxKey		lo = KEY_MIN,
				hi = KEY_MAX;
	bool		wide = alexidx_type_wide(keytype);
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

		if (alexidx_type_wide(argtype) != wide)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("alexidx cannot compare %s keys with %s values",
							format_type_be(keytype), format_type_be(argtype)),
					 errhint("Remove the cross-type operator from the index's operator family.")));

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
			AxKey	   *vals = array_keys(key, argtype, &n);

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
		plan_add_range(plan, wide, lo, hi);
		return;
	}
	for (i = 0; i < eq.n; i++)
		if (key_cmp(eq.hi[i], lo) >= 0 && key_cmp(eq.lo[i], hi) <= 0)
			plan_add_range(plan, wide, key_max(eq.lo[i], lo), key_min(eq.hi[i], hi));
}
