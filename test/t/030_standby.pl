# alexidx on a streaming standby: the standby's sidecar worker applies the replayed WAL to its
# own trees and sidecar, and a query there sees every entry replayed before it started.
#  1. a bounded random mix of writes and DDL on the primary; after catch-up every checked query
#     gives the same rows on the standby (through the alexidx index, and in a parallel index
#     scan), on the primary, and by seq scan on the primary
#  2. read-your-commit with synchronous_commit = remote_apply
#  3. standby restarts (fast and immediate) while the primary writes
#  4. promotion while both servers write and read: the new primary takes writes and equals a
#     seq scan
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 },
	conf => "autovacuum = off\nmax_prepared_transactions = 5\nwal_level = replica\n");
$primary->backup('bk');
my $standby = ax_cluster('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "alexidx.sweep_interval = 1\nmax_prepared_transactions = 5\n");
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int, u int UNIQUE);
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE TABLE ts (id serial, at timestamptz);
	CREATE INDEX ts_ax ON ts USING alexidx (at);
	INSERT INTO t SELECT g, g % 7, g FROM generate_series(1, 20000) g;
	INSERT INTO t SELECT NULL, -1, 100000 + g FROM generate_series(1, 50) g;
	INSERT INTO ts (at) SELECT timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 5000) g;
});

# The checked queries; each runs with the alexidx index forced.
my @queries = (
	[ t => 'SELECT k, c FROM t WHERE k = 777' ],
	[ t => 'SELECT k, c FROM t WHERE k BETWEEN 1000 AND 1300 ORDER BY k' ],
	[ t => 'SELECT k FROM t WHERE k IN (5, 50, 500, 5000, 50000, 777777) ORDER BY k' ],
	[ t => 'SELECT count(*) FROM t WHERE k IS NULL' ],
	[ t => 'SELECT k FROM t WHERE k > 100 ORDER BY k DESC LIMIT 20' ],
	[ t => 'SELECT count(*), sum(k) FROM t WHERE k >= -9223372036854775808' ],
	[ t => 'SELECT count(*), sum(k) FROM t WHERE k BETWEEN 30000 AND 900000' ],
	[ ts => q{SELECT count(*) FROM ts WHERE at >= timestamptz '2026-01-02' AND at < timestamptz '2026-01-03'} ],
	[ ts => q{SELECT id, at FROM ts WHERE at < timestamptz '2026-01-01 01:00' ORDER BY at} ],
);
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
my $seq = 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;';

sub compare_all
{
	my ($label, $other) = @_;
	my $bad = 0;
	for my $q (@queries)
	{
		my ($table, $sql) = @$q;
		my $plan = $other->safe_psql('postgres', "$force EXPLAIN (costs off) $sql");
		if ($plan !~ /Index (Only )?Scan (Backward )?using ${table}_ax/)
		{
			diag("$label: the plan of [$sql] does not use ${table}_ax:\n$plan");
			$bad++;
			next;
		}
		my $a = $other->safe_psql('postgres', "$force $sql");
		my $p = $primary->safe_psql('postgres', "$force $sql");
		my $s = $primary->safe_psql('postgres', "$seq $sql");
		next if $a eq $p && $p eq $s;
		diag("$label: [$sql]\n  other: $a\n  primary: $p\n  seq scan: $s");
		$bad++;
	}
	is($bad, 0, "$label: every checked query agrees (" . scalar(@queries) . ' queries, three ways)');
}

$primary->wait_for_catchup($standby, 'replay');
compare_all('after the initial load', $standby);
is($standby->safe_psql('postgres', 'SELECT in_recovery FROM alexidx_status()'), 't',
	'alexidx_status() on the standby says it is in recovery');

# ---- 1. a bounded random mix ----
# COPY reads a generated file (the server opens it as its own user)
my $copyfile = $primary->basedir . '/copy.csv';
open(my $fh, '>', $copyfile) or die $!;
print $fh join('', map { "$_,9,\n" } 9_000_001 .. 9_000_300);
close $fh;
chmod 0644, $copyfile;

my $rng = 42;
my $rand = sub { $rng = ($rng * 1103515245 + 12345) % 2147483648; return $rng % $_[0]; };
my $next_u = 200000;
my @ops = (
	sub { my $b = 100000 + $rand->(100000); "INSERT INTO t SELECT g, 1, g FROM generate_series($b * 10, $b * 10 + 99) g ON CONFLICT DO NOTHING" },
	sub { my $k = $rand->(20000); "UPDATE t SET k = k + 1000000 WHERE k BETWEEN $k AND $k + 30" },
	sub { my $k = $rand->(20000); "DELETE FROM t WHERE k BETWEEN $k AND $k + 40" },
	sub { 'VACUUM t' },
	sub { 'VACUUM ts' },
	sub { "BEGIN; INSERT INTO t VALUES (" . (5_000_000 + $rand->(1000)) . ", 2, " . $next_u++ . "); SAVEPOINT a; INSERT INTO t VALUES (6000000, 3, " . $next_u++ . "); ROLLBACK TO a; COMMIT" },
	sub { my $u = $next_u++; "BEGIN; INSERT INTO t VALUES (7000000 + $u, 4, $u); PREPARE TRANSACTION 'p$u'; COMMIT PREPARED 'p$u'" },
	sub { my $u = $rand->(20000) + 1; "INSERT INTO t VALUES ($u, 5, $u) ON CONFLICT (u) DO UPDATE SET k = EXCLUDED.k + 8000000" },
	sub { 'REINDEX INDEX t_ax' },
	sub { 'REINDEX INDEX CONCURRENTLY ts_ax' },
	sub { "INSERT INTO ts (at) SELECT timestamptz '2026-01-05' + g * interval '1 second' FROM generate_series(1, 500) g" },
	sub { 'DROP INDEX t_ax; CREATE INDEX t_ax ON t USING alexidx (k)' },
	sub { "COPY t (k, c, u) FROM '$copyfile' WITH (FORMAT csv)" },
);

my $failed = 0;
for my $i (1 .. 40)
{
	my $sql = $ops[ $rand->(scalar @ops) ]->();
	my ($ret, $out, $err) = $primary->psql('postgres', $sql);
	if ($ret != 0 && $err !~ /duplicate key/)
	{
		diag("op $i failed: $sql\n$err");
		$failed++;
	}
	if ($i % 10 == 0)
	{
		$primary->wait_for_catchup($standby, 'replay');
		compare_all("after $i random operations", $standby);
	}
}
is($failed, 0, 'the random operations ran');
$primary->safe_psql('postgres', 'TRUNCATE ts; INSERT INTO ts (at) SELECT timestamptz \'2026-01-01\' + g * interval \'1 hour\' FROM generate_series(1, 300) g');
$primary->wait_for_catchup($standby, 'replay');
compare_all('after TRUNCATE and reload', $standby);
like($primary->safe_psql('postgres', "$force EXPLAIN (costs off) SELECT k FROM t WHERE k = 5"), qr/Index Only Scan using t_ax/,
	'the primary plans an index-only scan');
like($standby->safe_psql('postgres', "$force EXPLAIN (costs off) SELECT k FROM t WHERE k = 5"), qr/Index Only Scan using t_ax/,
	'so does the standby (its index-only scans: 043)');
# a parallel index scan on the standby: its workers wait for the same apply and share one position
# (statistics, replayed from the primary, let the planner give the scan two workers)
$primary->safe_psql('postgres', 'ANALYZE t');
$primary->wait_for_catchup($standby, 'replay');
my $par = "$force " . ax_parallel_settings() . ' SET parallel_leader_participation = off;';
my $par_q = "SELECT count(*) || '/' || coalesce(sum(c), 0) || '/' || coalesce(sum(k), 0) FROM t WHERE k BETWEEN 100 AND 15000";
like($standby->safe_psql('postgres', "$par EXPLAIN (analyze, costs off, timing off, summary off) $par_q"),
	qr/Workers Launched: 2.*Parallel Index Scan using t_ax/s, 'the standby\'s workers run a parallel scan of the alexidx index');
is($standby->safe_psql('postgres', "$par $par_q"),
	$primary->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $par_q"),
	'a parallel index scan on the standby equals a seq scan on the primary');

# ---- a REINDEX replayed before the standby's worker applied it ----
# The replayed metapage names the new build before the sidecar has it: a new session's scan
# waits for the worker (here until alexidx.standby_wait, the apply being held), never fails
# with "no data", and answers once the worker catches up.
$standby->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = on\n");
$standby->reload;
ok(ax_poll(10, 0.1, sub { $standby->safe_psql('postgres', 'SHOW alexidx.hold_sidecar_apply') eq 'on' }),
	'the standby\'s worker is told to hold its apply');
# alexidx_check on the standby while its worker lags: the worker catches the sidecar up to the
# replay before it compares, applying to the tree it compares (before, it held the tree's lock
# while it waited for that same lock: the worker hung for good). On a standby the check
# compares the tree with the sidecar; the heap, which the replay changes under it, is checked
# on the primary.
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 7, g FROM generate_series(30000001, 30000100) g');
$primary->wait_for_catchup($standby, 'replay');
my ($check_rc, undef, $check_err) = $standby->psql('postgres',
	"SET statement_timeout = '20s'; SELECT alexidx_check('t_ax')");
is($check_rc, 0, 'alexidx_check on a standby whose worker lags finishes') or diag($check_err);
like($check_err, qr/compares the tree with the sidecar only/, 'it says the heap is checked on the primary');
$primary->safe_psql('postgres', 'REINDEX INDEX t_ax');
$primary->wait_for_catchup($standby, 'replay');
my (undef, undef, $held_err) = $standby->psql('postgres', "SET alexidx.standby_wait = 1500; $force SELECT k, c FROM t WHERE k = 777");
like($held_err, qr/the sidecar worker has not applied the WAL up to/,
	'a scan of the index rebuilt on the primary waits for the worker to apply the new build');
$standby->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = off\n");
$standby->reload;
compare_all('after a REINDEX applied late', $standby);

# ---- 2. read-your-commit with remote_apply ----
$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'standby'\n");
$primary->reload;
my $missed = 0;
for my $i (1 .. 30)
{
	my $k = 20_000_000 + $i;
	$primary->safe_psql('postgres', "SET synchronous_commit = remote_apply; INSERT INTO t VALUES ($k, 6, $k)");
	$missed++ unless $standby->safe_psql('postgres', "$force SELECT count(*) FROM t WHERE k = $k") eq '1';
}
is($missed, 0, 'remote_apply: every committed row is found through the standby index by the next query');
$primary->append_conf('postgresql.conf', "synchronous_standby_names = ''\n");
$primary->reload;

# ---- 3. standby restarts while the primary writes ----
for my $how ('fast', 'immediate')
{
	my $c = ax_insert_clients($primary, 2, 300, base => ($how eq 'fast' ? 30 : 40) * 1_000_000, name => "r$how", table => 't');
	ax_wait_acked($c, 0.2);
	$standby->stop($how);
	$standby->start;
	my $r = ax_wait_clients($c, 120);
	is(scalar(@{ $r->{errors} }) == 0 || !grep({ !/duplicate key/ } @{ $r->{errors} }), 1, "standby $how restart: the primary's writers ran");
	$primary->wait_for_catchup($standby, 'replay');
	compare_all("after a $how standby restart", $standby);
}

# ---- 4. promotion while both servers write and read ----
my $reader = ax_bg($standby, 'postgres', 'reader', join('', map { "$force SELECT count(*) FROM t WHERE k BETWEEN 1 AND 900000;\n" } 1 .. 200));
my $writer = ax_insert_clients($primary, 1, 400, base => 50_000_000, name => 'before_promote', table => 't');
ax_wait_acked($writer, 0.3);
$standby->promote;
ax_wait_clients($writer, 60);
ax_bg_finish($reader, 60);
ok(ax_poll(30, 0.1, sub { $standby->log_contains(qr/alexidx sidecar: promoted; the WAL replayed up to/) }),
	'the promoted worker applied the replayed WAL and handed the trees over');
my $after = ax_insert_clients($standby, 2, 200, base => 60_000_000, name => 'after_promote', table => 't');
my $r = ax_wait_clients($after, 120);
is($r->{acked_tx}, $r->{tx}, 'the new primary takes writes');
ax_verify($standby, label => 'the promoted standby', acked => $r->{acked}, never => $r->{never});
my $tsq = q{SELECT count(*) || ' ' || md5(string_agg(id || '@' || at, ',' ORDER BY id)) FROM ts WHERE at >= '-infinity'};
like($standby->safe_psql('postgres', "$force EXPLAIN (costs off) $tsq"), qr/Index Scan using ts_ax/, 'timestamps: the check uses ts_ax');
is($standby->safe_psql('postgres', "$force $tsq"), $standby->safe_psql('postgres', "$seq $tsq"),
	'the promoted standby, timestamps: the index equals a seq scan');
$standby->restart;
ax_verify($standby, label => 'the promoted standby after a restart', acked => $r->{acked}, never => $r->{never});

$primary->stop;
$standby->stop;
done_testing();
