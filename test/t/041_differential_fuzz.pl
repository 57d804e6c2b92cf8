# Random queries checked against a seq scan of the same rows, for every key type.
#
# The regress suite checks chosen queries; this one draws them at random, as a user's
# application would combine them: several conditions on the key at once (redundant and
# contradictory bounds, IN lists and = ANY with NULLs and repeats, < ANY), constants of
# another type of the family (out of the column's range, between its values, infinities,
# NaN), IS [NOT] NULL, ORDER BY either way with NULLS FIRST or LAST and a LIMIT, counts
# (index-only scans), scroll cursors that move back and forth, and generic plans whose
# parameters arrive at run time. The rows change between the queries (inserts, key-changing
# updates, deletes, savepoints rolled back) and the queries run inside the transaction that
# changed them, so they also read the backend's still-buffered entries; the transaction then
# commits or rolls back, and VACUUM runs now and then.
#
# Each query runs as an index scan (or index-only scan), as a bitmap scan and as a seq scan,
# in one PL/pgSQL function (fz_check), which also checks that the first two plans do use the
# index. Every disagreement is a failure. The seed is ALEXIDX_FUZZ_SEED (default 41), printed
# so that a failure can be replayed; ALEXIDX_FUZZ_ROUNDS sets the rounds per type.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $seed = $ENV{ALEXIDX_FUZZ_SEED} // 41;
my $rounds = $ENV{ALEXIDX_FUZZ_ROUNDS} // 6;
my $queries_per_round = 24;
srand($seed);
note("ALEXIDX_FUZZ_SEED=$seed ALEXIDX_FUZZ_ROUNDS=$rounds");

my $node = ax_node('fuzz');

# fz_check(query, kind): kind 'set' compares the rows' ids as a set, 'seq' the keys in the
# order returned (ORDER BY: ties may come in any order, their keys may not), 'count' one
# number. Returns NULL when the three scans agree and the first two use the index, else what
# went wrong. fz_cursor(query, moves) fetches from a scroll cursor by the relative moves given
# and compares the keys fetched by the three scans likewise.
$node->safe_psql('postgres', q{
-- a key as text, with -0 as 0: the two are equal, so ORDER BY may return them either way round
CREATE FUNCTION fz_key(anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce($1::text, 'null') $$;
CREATE FUNCTION fz_key(float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(($1 + 0)::text, 'null') $$;
CREATE FUNCTION fz_key(float4) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(($1 + 0)::text, 'null') $$;

-- NULL when the index side got what the seq scan wanted, else what differed
CREATE FUNCTION fz_differ(what text, got text, want text) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN got IS DISTINCT FROM want THEN format('%s: gave %s, the seq scan %s', what, got, want) END
$$;

CREATE FUNCTION fz_settings(mode text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('enable_seqscan', CASE WHEN mode = 'seq' THEN 'on' ELSE 'off' END, true);
  PERFORM set_config('enable_indexscan', CASE WHEN mode = 'index' THEN 'on' ELSE 'off' END, true);
  PERFORM set_config('enable_indexonlyscan', CASE WHEN mode = 'index' THEN 'on' ELSE 'off' END, true);
  PERFORM set_config('enable_bitmapscan', CASE WHEN mode = 'bitmap' THEN 'on' ELSE 'off' END, true);
END $$;

CREATE FUNCTION fz_plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP plan := plan || line || E'\n'; END LOOP;
  RETURN plan;
END $$;

CREATE FUNCTION fz_run(q text, kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  IF kind = 'set' THEN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(id::text, '','' ORDER BY id), '''')) FROM (%s) s', q) INTO r;
  ELSIF kind = 'seq' THEN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(fz_key(k), '','' ORDER BY ord), '''')) FROM (SELECT k, row_number() OVER () AS ord FROM (%s) s0) s', q) INTO r;
  ELSE
    EXECUTE q INTO r;
  END IF;
  RETURN r;
END $$;

CREATE FUNCTION fz_check(q text, kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE want text; got text; plan text; mode text;
BEGIN
  PERFORM fz_settings('seq');
  want := fz_run(q, kind);
  FOREACH mode IN ARRAY ARRAY['index', 'bitmap'] LOOP
    PERFORM fz_settings(mode);
    plan := fz_plan(q);
    IF mode = 'index' AND plan !~ 'Index (Only )?Scan (Backward )?using z_ax' THEN
      RETURN format('%s: no index scan: %s', q, plan);
    END IF;
    -- a bitmap scan cannot return rows in index order: ordered queries sort them
    IF mode = 'bitmap' AND plan !~ 'Bitmap Index Scan on z_ax' THEN
      RETURN format('%s: no bitmap scan: %s', q, plan);
    END IF;
    got := fz_run(q, kind);
    IF got IS DISTINCT FROM want THEN
      RETURN fz_differ(format('%s (%s scan)', q, mode), got, want);
    END IF;
  END LOOP;
  PERFORM fz_settings('all');
  RETURN NULL;
END $$;

CREATE FUNCTION fz_fetch(q text, moves int[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c refcursor; r record; out text := ''; m int;
BEGIN
  OPEN c SCROLL FOR EXECUTE q;
  FOREACH m IN ARRAY moves LOOP
    FETCH RELATIVE m FROM c INTO r;
    out := out || CASE WHEN FOUND THEN fz_key(r.k) ELSE '-' END || ',';
  END LOOP;
  CLOSE c;
  RETURN out;
END $$;

CREATE FUNCTION fz_cursor(q text, moves int[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE want text; got text;
BEGIN
  PERFORM fz_settings('seq');
  want := fz_fetch(q, moves);
  PERFORM fz_settings('index');
  IF fz_plan(q) !~ 'Index (Only )?Scan (Backward )?using z_ax' THEN
    RETURN format('cursor %s: no index scan: %s', q, fz_plan(q));
  END IF;
  got := fz_fetch(q, moves);
  PERFORM fz_settings('all');
  RETURN fz_differ(format('cursor %s moves %s', q, moves), got, want);
END $$;

-- fz_generic with two constants given as SQL, skipped when casting them to the parameters'
-- type fails (a constant out of that type's range)
CREATE FUNCTION fz_generic_try(a text, b text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  BEGIN
    EXECUTE format('SELECT %s, %s', a, b);
  EXCEPTION WHEN numeric_value_out_of_range OR datetime_field_overflow THEN
    RETURN NULL;
  END;
  EXECUTE format('SELECT fz_generic(%s, %s)', a, b) INTO r;
  RETURN r;
END $$;
});

# ---------- values and constants, per type ----------

sub pick { return $_[ int(rand(@_)) ]; }
sub rint { my ($lo, $hi) = @_; return $lo + int(rand($hi - $lo + 1)); }

my @uuid_prefixes = map { sprintf('%08x-%04x-%04x', rint(0, 2**31), rint(0, 65535), rint(0, 65535)) } 1 .. 30;

# Each type: a random value of the column's type (as SQL), and a random constant to compare
# it with (the column's type or another of its family; some out of the column's range).
# A float column: values in eighths, the special values and two near the type's limits;
# constants of its own type and of the other float type.
sub float_type
{
	my ($own, $other, @limits) = @_;
	return {
		value => sub {
			pick(rint(-400, 400) / 8, rint(-400, 400) / 8, "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", 0.1,
				@limits);
		},
		const => sub {
			pick(rint(-420, 420) / 8 . "::$own", rint(-420, 420) / 8 . "::$other", "0.1::$own", "0.1::$other",
				"'NaN'::$other", "'Infinity'::$own", "'-Infinity'::$other", "'-0'::$other", '1e300::float8',
				'-1e300::float8', '1e-45::float8', rint(-420, 420) / 7 . '::float8');
		},
	};
}

my %types = (
	int2 => {
		value => sub { pick(rint(-60, 60), rint(-60, 60), rint(-60, 60), -32768, 32767) },
		const => sub {
			pick(rint(-70, 70) . '::int2', rint(-70, 70), rint(-70, 70) . '::int8', '40000', '-40000::int8',
				'32767::int2', '-32768', '9223372036854775807::int8');
		},
	},
	int4 => {
		value => sub { pick(rint(-300, 300), rint(-300, 300), -2147483648, 2147483647) },
		const => sub {
			pick(rint(-320, 320), rint(-320, 320) . '::int2', rint(-320, 320) . '::int8', '3000000000::int8',
				'-3000000000::int8', '2147483647', '-2147483648');
		},
	},
	int8 => {
		value => sub {
			pick(rint(-300, 300), rint(-300, 300), rint(-2**40, 2**40), '9223372036854775807', '-9223372036854775808');
		},
		const => sub {
			pick(rint(-320, 320) . '::int8', rint(-320, 320), rint(-320, 320) . '::int2', rint(-2**40, 2**40) . '::int8',
				'9223372036854775807::int8', '(-9223372036854775807 - 1)::int8', '2147483647');
		},
	},
	float4 => float_type('float4', 'float8', '1e-38', '3.4e38'),
	float8 => float_type('float8', 'float4', '1e308', '5e-324'),
	date => {
		value => sub { pick("date '2026-03-01' + " . rint(-200, 200), "'infinity'", "'-infinity'") },
		const => sub {
			my $d = rint(-210, 210);
			pick("(date '2026-03-01' + $d)", "(date '2026-03-01' + $d)::timestamp",
				"(date '2026-03-01' + $d)::timestamp + interval '" . rint(1, 1439) . " minutes'",
				"(timestamptz '2026-03-01 00:00+00' + interval '" . rint(-5000, 5000) . " hours')",
				"date 'infinity'", "timestamp '-infinity'", "timestamptz 'infinity'");
		},
	},
	timestamp => {
		value => sub {
			pick("timestamp '2026-03-08' + interval '" . rint(-3000, 3000) . " minutes'", "'infinity'", "'-infinity'");
		},
		const => sub {
			my $m = rint(-3100, 3100);
			pick("(timestamp '2026-03-08' + interval '$m minutes')", "(date '2026-03-08' + " . rint(-3, 3) . ')',
				"(timestamptz '2026-03-08 00:00-05' + interval '$m minutes')", "timestamp 'infinity'",
				"date '-infinity'", "timestamptz '-infinity'");
		},
	},
	timestamptz => {
		value => sub {
			pick("timestamptz '2026-03-08 00:00-05' + interval '" . rint(-3000, 3000) . " minutes'",
				"'infinity'", "'-infinity'");
		},
		const => sub {
			my $m = rint(-3100, 3100);
			pick("(timestamptz '2026-03-08 00:00-05' + interval '$m minutes')",
				"(timestamp '2026-03-08' + interval '$m minutes')", "(date '2026-03-08' + " . rint(-3, 3) . ')',
				"timestamptz 'infinity'", "date 'infinity'", "timestamp '-infinity'");
		},
	},
	oid => {
		value => sub { pick(rint(0, 400), rint(0, 400), 4294967295) },
		const => sub { pick(rint(0, 420) . '::oid', rint(0, 420) . '::oid', '4294967295::oid', '0::oid') },
	},
	uuid => {
		value => sub { "'" . pick(@uuid_prefixes) . sprintf('-%04x-%012x', rint(0, 3), rint(0, 3)) . "'" },
		const => sub {
			"'" . pick(@uuid_prefixes) . sprintf('-%04x-%012x', rint(0, 4), rint(0, 4)) . "'::uuid";
		},
	},
);

# ---------- queries ----------

# A condition on k that an index can use, from constants of $t.
sub indexable
{
	my ($t) = @_;
	my $c = $types{$t}{const};
	my $r = rand();
	return 'k ' . pick('<', '<=', '=', '>=', '>') . ' ' . $c->() if $r < 0.45;
	return 'k BETWEEN ' . $c->() . ' AND ' . $c->() if $r < 0.6;
	if ($r < 0.8)
	{
		my @list = map { $c->() } 1 .. rint(1, 6);
		push @list, 'NULL' if rand() < 0.2;
		push @list, $list[0] if rand() < 0.3;
		return rand() < 0.5 ? 'k IN (' . join(', ', @list) . ')' : 'k = ANY (ARRAY[' . join(', ', @list) . '])';
	}
	return 'k ' . pick('<', '>', '<=', '>=') . ' ANY (ARRAY[' . join(', ', map { $c->() } 1 .. rint(1, 3)) . '])'
	  if $r < 0.87;
	return pick('k IS NULL', 'k IS NOT NULL');
}

sub condition
{
	my ($t) = @_;
	my @parts = map { indexable($t) } 1 .. pick(1, 1, 2, 2, 3);
	# a condition the index cannot check, left to the executor
	push @parts, 'id % 3 <> 0' if rand() < 0.15;
	return join(' AND ', @parts);
}

sub order_by
{
	return 'ORDER BY k ' . pick('', 'DESC', 'NULLS FIRST', 'DESC NULLS LAST');
}

# One random check, as a SELECT of fz_check or fz_cursor.
sub random_check
{
	my ($t) = @_;
	my $cond = condition($t);
	my $r = rand();
	my ($q, $kind);
	if ($r < 0.35) { ($q, $kind) = ("SELECT id, k FROM z WHERE $cond", 'set'); }
	elsif ($r < 0.65)
	{
		my $limit = rand() < 0.7 ? ' LIMIT ' . rint(1, 300) : '';
		($q, $kind) = ("SELECT k FROM z WHERE $cond " . order_by() . $limit, 'seq');
	}
	elsif ($r < 0.8) { ($q, $kind) = ("SELECT count(*) FROM z WHERE $cond", 'count'); }
	else
	{
		my @moves = map { pick(1, 1, 1, 2, -1, -1, -3, 5, -5, 0, 40, -40) } 1 .. rint(5, 25);
		$q = "SELECT k FROM z WHERE $cond " . order_by();
		return sprintf('SELECT fz_cursor(%s, ARRAY[%s]);', quote($q), join(',', @moves));
	}
	return sprintf('SELECT fz_check(%s, %s);', quote($q), quote($kind));
}

sub quote { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

# Generic plans: the constants arrive at run time, as the parameters of a cached plan (force_
# generic_plan), of the column's type or a wider one of its family, NULL sometimes. fz_gen_idx
# plans its queries once, under the index settings; fz_gen_seq reads the same rows through a
# subquery the conditions cannot be pushed into (a seq scan whatever the settings).
my %wide = (int2 => 'int8', int4 => 'int8', int8 => 'int4', float4 => 'float8', float8 => 'float4',
	date => 'timestamptz', timestamp => 'timestamptz', timestamptz => 'date', oid => 'oid', uuid => 'uuid');

sub generic_functions
{
	my ($t) = @_;
	my $sql = '';
	for my $w ($t, $wide{$t})
	{
		for my $f ([ 'idx', 'z' ], [ 'seq', '(SELECT * FROM z OFFSET 0)' ])
		{
			my ($name, $from) = @$f;
			my $agg = "count(*) || ':' || md5(coalesce(string_agg(id::text, ',' ORDER BY id), ''))";
			$sql .= qq{
CREATE OR REPLACE FUNCTION fz_gen_$name(a $w, b $w) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE r1 text; r2 text; r3 text; r4 text;
BEGIN
  SELECT $agg INTO r1 FROM $from s WHERE k >= a AND k < b;
  SELECT $agg INTO r2 FROM $from s WHERE k = ANY (ARRAY[a, b, a]);
  SELECT $agg INTO r3 FROM $from s WHERE k > a;
  SELECT string_agg(fz_key(k), ',') INTO r4
    FROM (SELECT k FROM $from s WHERE k <= b ORDER BY k DESC LIMIT 20) x;
  RETURN concat_ws('/', r1, r2, r3, r4);
END \$\$;
};
		}
		$sql .= qq{
CREATE OR REPLACE FUNCTION fz_generic(a $w, b $w) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE want text; got text;
BEGIN
  PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
  PERFORM fz_settings('seq');
  want := fz_gen_seq(a, b);
  PERFORM fz_settings('index');
  got := fz_gen_idx(a, b);
  PERFORM fz_settings('all');
  RETURN fz_differ(format('generic plan (%s, %s)', a, b), got, want);
END \$\$;
};
	}
	return $sql;
}

sub generic_check
{
	my ($t) = @_;
	my $w = pick($t, $wide{$t});
	my $c = $types{$t}{const};
	my @v = map { rand() < 0.12 ? "NULL::$w" : '(' . $c->() . ")::$w" } 1 .. 2;
	return sprintf('SELECT fz_generic_try(%s, %s);', quote($v[0]), quote($v[1]));
}

my $failures = 0;
my $checks = 0;
for my $t (sort keys %types)
{
	my $v = $types{$t}{value};
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS z;
		CREATE TABLE z (id bigserial PRIMARY KEY, k $t);
		INSERT INTO z (k) SELECT NULL FROM generate_series(1, 20);
	});
	my $ins = sub {
		my ($n) = @_;
		return 'INSERT INTO z (k) VALUES ' . join(', ', map { '(' . (rand() < 0.03 ? 'NULL' : $v->()) . ')' } 1 .. $n) . ";\n";
	};
	$node->safe_psql('postgres', $ins->(3000) . "CREATE INDEX z_ax ON z USING alexidx (k); ANALYZE z;"
		  . generic_functions($t));
	# the generic plans' index side does use the index
	like($node->safe_psql('postgres', "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET enable_bitmapscan = off;
		PREPARE g(" . $wide{$t} . ") AS SELECT id FROM z WHERE k > \$1; EXPLAIN (COSTS OFF) EXECUTE g(NULL)"),
		qr/Index (Only )?Scan using z_ax.*\n.*k > \$1/, "$t: a generic plan's parameter is an index condition");
	for my $round (1 .. $rounds)
	{
		my $sql = "SET TimeZone = 'America/New_York';\nBEGIN;\n";
		my @steps = (
			sub { $ins->(rint(1, 400)) },
			sub { 'DELETE FROM z WHERE ' . indexable($t) . " AND id % 4 = " . rint(0, 3) . ";\n" },
			sub { 'UPDATE z SET k = ' . $v->() . ' WHERE id % 53 = ' . rint(0, 52) . ";\n" },
			sub { "SAVEPOINT s;\n" . $ins->(rint(1, 200)) . 'DELETE FROM z WHERE id % 7 = ' . rint(0, 6) . ";\nROLLBACK TO s;\n" },
		);
		for my $q (1 .. $queries_per_round)
		{
			$sql .= pick(@steps)->() if rand() < 0.4;
			$sql .= (rand() < 0.1 ? generic_check($t) : random_check($t)) . "\n";
			$checks++;
		}
		my $end = pick('COMMIT', 'COMMIT', 'ROLLBACK');
		$sql .= "$end;\n";
		$sql .= "VACUUM z;\n" if rand() < 0.3;
		# and after the transaction ended: the committed state
		for my $q (1 .. 6)
		{
			$sql .= random_check($t) . "\n";
			$checks++;
		}
		my ($ret, $out, $err) = $node->psql('postgres', $sql);
		if ($ret != 0)
		{
			$failures++;
			diag("$t round $round: psql failed: $err");
			next;
		}
		for my $line (grep { $_ ne '' } split /\n/, $out)
		{
			$failures++;
			diag("$t round $round: $line") if $failures <= 20;
		}
	}
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT alexidx_check('z_ax')");
	is($ret, 0, "$t: alexidx_check finds the index and the heap in agreement after the rounds")
	  or diag($err);
}
is($failures, 0, "$checks random queries: index, bitmap and seq scans agree (seed $seed)");

done_testing();
