# Limits and odd input: a full shared arena (alexidx.memory = 16MB) gives a clear ERROR while
# other indexes keep working, and raising alexidx.memory + restart fixes it; the extension
# without shared_preload_libraries; extreme keys (INT64_MIN/INT64_MAX, int4/int2 bounds);
# 50 indexes in one database plus indexes in a second database, across a crash.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

# ---- 1. arena exhaustion ----
my $node = ax_node('limits', memory => '16MB', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE small (k bigint, c int);
	INSERT INTO small SELECT g, 0 FROM generate_series(1, 1000) g;
	CREATE INDEX small_ax ON small USING alexidx (k);
	CREATE TABLE big (k bigint, c int);
	CREATE INDEX big_ax ON big USING alexidx (k);
});
my ($full_err, $chunks) = ('', 0);
for my $i (0 .. 39)    # at most 40 x 100k rows
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"INSERT INTO big SELECT g, $i FROM generate_series($i * 100000 + 1, ($i + 1) * 100000) g");
	if ($ret != 0) { $full_err = $err; last }
	$chunks++;
}
like($full_err, qr/alexidx shared memory is full/, "a full arena is a clear ERROR (after $chunks chunks of 100k rows)");
like($full_err, qr/HINT:.*Raise alexidx\.memory/, 'the error says to raise alexidx.memory');
# what the change needs, not "more are needed" (which read as a shortfall and could be smaller
# than what was free, when the free memory is in small pieces)
like($full_err, qr/DETAIL:  alexidx\.memory is 16 MB and \d+ kB are free(; the change needs about \d+ MB|, but not in pieces as large as the change needs \(about \d+ MB\))\./,
	'the detail says what is free and what the change needs');
diag("arena full: " . join(' | ', grep { /ERROR|DETAIL|HINT/ } split /\n/, $full_err));
my $committed = $chunks * 100000;
# the other index keeps working; small writes may or may not fit, reads must
my ($ret) = $node->psql('postgres', 'INSERT INTO small VALUES (5000, 1)');
my $small = 1000 + ($ret == 0 ? 1 : 0);
ax_verify($node, label => 'arena full: the other index', table => 'small', index => 'small_ax', expect_count => $small);
ax_verify($node, label => 'arena full: the full index', table => 'big', index => 'big_ax', expect_count => $committed);

$node->stop;
$node->append_conf('postgresql.conf', "alexidx.memory = 512MB\n");
$node->start;
$node->safe_psql('postgres', "INSERT INTO big SELECT g, -1 FROM generate_series($committed + 1, $committed + 500000) g");
ax_verify($node, label => 'alexidx.memory raised, after restart', table => 'big', index => 'big_ax',
	expect_count => $committed + 500000);
ax_verify($node, label => 'alexidx.memory raised: the other index', table => 'small', index => 'small_ax',
	expect_count => $small);
# alexidx.memory lowered below a tree: its load after the restart fails, saying how much that
# tree needs and asking for enough for it
$node->stop;
$node->append_conf('postgresql.conf', "alexidx.memory = 16MB\n");
$node->start;
my ($lrc, $lout, $lerr) = $node->psql('postgres',
	'SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM big');
like($lerr, qr/alexidx shared memory is full while loading index big_ax/, 'a tree too large to load: the error says so');
my ($needs) = $lerr =~ /DETAIL:  alexidx\.memory is 16 MB and \d+ kB are free; its tree needs about (\d+) MB\./;
my ($asks) = $lerr =~ /HINT:  Raise alexidx\.memory to about (\d+) MB/;
ok(defined $needs && defined $asks && $needs >= 16 && $asks >= 16 + $needs,
	'the detail says what the tree needs, and the hint asks for that much more') or diag($lerr);
$node->stop;
$node->append_conf('postgresql.conf', "alexidx.memory = 512MB\n");
$node->start;
ax_verify($node, label => 'alexidx.memory raised again', table => 'big', index => 'big_ax',
	expect_count => $committed + 500000);
$node->safe_psql('postgres', 'DROP TABLE big; DROP TABLE small');

# ---- 2. extreme keys ----
$node->safe_psql('postgres', q{
	CREATE TABLE x8 (k bigint);
	INSERT INTO x8 VALUES (-9223372036854775808), (-9223372036854775807), (-1), (0), (1),
		(9223372036854775806), (9223372036854775807), (-9223372036854775808), (9223372036854775807);
	CREATE INDEX x8_ax ON x8 USING alexidx (k);
	INSERT INTO x8 VALUES (-9223372036854775808), (9223372036854775807);
	CREATE TABLE x4 (k int);
	INSERT INTO x4 VALUES (-2147483648), (2147483647), (0);
	CREATE INDEX x4_ax ON x4 USING alexidx (k);
	CREATE TABLE x2 (k smallint);
	INSERT INTO x2 VALUES (-32768), (32767), (0);
	CREATE INDEX x2_ax ON x2 USING alexidx (k);
});
my @q = (
	'k = -9223372036854775808', 'k = 9223372036854775807', 'k <= -9223372036854775808',
	'k >= 9223372036854775807', 'k < -9223372036854775807', 'k > 9223372036854775806',
	'k BETWEEN -9223372036854775808 AND 9223372036854775807', 'k < -9223372036854775808',
	'k > 9223372036854775807', 'k >= -1 AND k <= 1', 'k IN (-9223372036854775808, 0, 9223372036854775807)',
	'k < 0', 'k > 0',
);
sub extreme_checks
{
	my ($label) = @_;
	my ($bad, $total) = (0, 0);
	for my $tbl ([ 'x8', 'x8_ax', \@q ],
		[ 'x4', 'x4_ax', [ 'k = -2147483648', 'k = 2147483647', 'k >= 2147483647', 'k <= -2147483648', 'k > 2147483647::bigint', 'k < -2147483648::bigint', 'k >= -9223372036854775808', 'k <= 9223372036854775807' ] ],
		[ 'x2', 'x2_ax', [ 'k = -32768', 'k = 32767', 'k >= 32767', 'k <= -32768', 'k > 40000', 'k < -40000', 'k >= -2147483648', 'k <= 9223372036854775807' ] ])
	{
		my ($t, $i, $conds) = @$tbl;
		# one session per scan kind, one line per condition
		my $body = join '', map { "SELECT coalesce(string_agg(k::text, ',' ORDER BY k), '-') FROM $t WHERE $_;\n" } @$conds;
		my @a = split /\n/, $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;\n$body");
		my @b = split /\n/, $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;\n$body");
		my $plan = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN (costs off) SELECT k FROM $t WHERE $conds->[0]");
		like($plan, qr/Index (Only )?Scan using $i/, "$label: $t queries use $i");
		for my $n (0 .. $#$conds)
		{
			$total++;
			next if ($a[$n] // '') eq ($b[$n] // '');
			$bad++;
			diag("$label: $t WHERE $conds->[$n]: index [" . ($a[$n] // '') . "] vs seq [" . ($b[$n] // '') . "]");
		}
		my ($r, $o, $e) = $node->psql('postgres', "SELECT alexidx_check('$i')");
		is($r, 0, "$label: alexidx_check('$i')") or diag($e);
	}
	is($bad, 0, "$label: $total queries on extreme keys agree between index and seq scan");
}
extreme_checks('extreme keys');
$node->stop('immediate');
$node->start;
extreme_checks('extreme keys after a crash');
ax_verify($node, label => 'extreme keys', table => 'x8', index => 'x8_ax', expect_count => 11);

# ---- 3. many indexes: 50 in one database, 5 in another, across a crash ----
my $sql = '';
$sql .= "CREATE TABLE m$_ (k bigint); INSERT INTO m$_ SELECT g * $_ FROM generate_series(1, 300) g; CREATE INDEX m${_}_ax ON m$_ USING alexidx (k);\n"
  for 1 .. 50;
$node->safe_psql('postgres', $sql);
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION alexidx');
$node->safe_psql('other', join '', map { "CREATE TABLE m$_ (k bigint); INSERT INTO m$_ SELECT -g FROM generate_series(1, 700) g; CREATE INDEX m${_}_ax ON m$_ USING alexidx (k);\n" } 1 .. 5);
# more rows after the builds, through the insert buffers, then a crash
$node->safe_psql('postgres', join '', map { "INSERT INTO m$_ SELECT 100000 + g FROM generate_series(1, 10) g;\n" } 1 .. 50);
$node->safe_psql('other', join '', map { "INSERT INTO m$_ SELECT 100000 + g FROM generate_series(1, 10) g;\n" } 1 .. 5);
$node->stop('immediate');
$node->start;
my ($ok, $lost) = (0, 0);
for my $db ([ 'postgres', 50, 310 ], [ 'other', 5, 710 ])
{
	my ($d, $n, $rows) = @$db;
	my @got = split /\n/, $node->safe_psql($d, "SET enable_seqscan = off; SET enable_bitmapscan = off;\n"
		  . join('', map { "SELECT count(*) FROM m$_ WHERE k >= -9223372036854775808;\n" } 1 .. $n));
	my ($r, $o, $e) = $node->psql($d, "SELECT count(alexidx_check(c.oid)) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'alexidx' AND c.relname LIKE 'm%'");
	is($r, 0, "$d: alexidx_check passes on all its m* indexes") or diag($e);
	for my $i (0 .. $n - 1)
	{
		$ok++ if ($got[$i] // 0) == $rows;
		$lost += $rows - ($got[$i] // 0) if ($got[$i] // 0) < $rows;
	}
}
is($ok, 55, '55 indexes in two databases: every one complete after a crash');
diag("many indexes: rows committed = " . (50 * 310 + 5 * 710) . ", lost = $lost");
my $builds = ax_live_builds($node);
is(scalar(keys %$builds), 3 + 50 + 5, 'every index has its own build');    # x8, x4, x2 + 50 + 5
ax_verify($node, db => 'other', table => 'm5', index => 'm5_ax', label => 'second database', expect_count => 710);
$node->stop;

# ---- 4. trees that REINDEX, TRUNCATE or a table rewrite replaced ----
# Their builds are dead once the statement commits, and their trees must not keep the next
# build out of the arena: two indexes on two tables, each fitting twice, rebuilt back to back,
# with no periodic sweep between.
my $re = ax_node('limits_rebuild', memory => '16MB',
	conf => "autovacuum = off\nalexidx.sweep_interval = 3600\n");
$re->safe_psql('postgres', q{
	CREATE TABLE a (k bigint); INSERT INTO a SELECT g FROM generate_series(1, 250000) g;
	CREATE INDEX a_ax ON a USING alexidx (k);
	CREATE TABLE b (k bigint); INSERT INTO b SELECT g FROM generate_series(1, 250000) g;
	CREATE INDEX b_ax ON b USING alexidx (k);
});
for my $step ('REINDEX INDEX a_ax', 'REINDEX INDEX b_ax', 'VACUUM FULL a', 'VACUUM FULL b',
	'BEGIN; TRUNCATE a; INSERT INTO a SELECT g FROM generate_series(1, 250000) g; COMMIT',
	'REINDEX INDEX b_ax', 'REINDEX SCHEMA public')
{
	my ($rc, $out, $err) = $re->psql('postgres', $step);
	is($rc, 0, "$step right after the one before: the trees it replaced made room")
	  or diag($err);
}
for my $t ('a', 'b')
{
	ax_verify($re, label => "after the rebuilds: table $t", table => $t, index => "${t}_ax",
		expect_count => 250000);
}
# A CREATE INDEX that finds the arena full gives back all it took there: the free memory its
# error reports stays the same however often it fails.
$re->safe_psql('postgres', 'CREATE TABLE c (k bigint); INSERT INTO c SELECT g FROM generate_series(1, 1000000) g');
sub free_kb_when_full
{
	my ($rc, $out, $err) = $re->psql('postgres', 'CREATE INDEX c_ax ON c USING alexidx (k)');
	$err =~ /alexidx\.memory is 16 MB and (\d+) kB are free/ or die "no full-arena error: $err";
	return $1;
}
my $free_first = free_kb_when_full();
free_kb_when_full() for 1 .. 10;
is(free_kb_when_full(), $free_first, 'a CREATE INDEX that found the arena full gave back all it took (12 times)');
# Small inserts after a TRUNCATE: each asks for little, so no sweep runs before it, but a tree
# grows by whole data nodes, which the free memory may lack in one piece while the truncated
# tree sits in it (that way 345,000 rows fit, by hand; without it, 495,000).
$re->safe_psql('postgres', 'DROP TABLE b, c');
$re->safe_psql('postgres', 'TRUNCATE a; CREATE TABLE q (k bigint); CREATE INDEX q_ax ON q USING alexidx (k)');
my $inserted = 0;
while ($inserted < 420000)
{
	my ($rc, $out, $err) = $re->psql('postgres',
		'INSERT INTO q SELECT g FROM generate_series(' . ($inserted + 1) . ', ' . ($inserted + 5000) . ') g');
	if ($rc != 0)
	{
		diag("insert after $inserted rows: $err");
		last;
	}
	$inserted += 5000;
}
is($inserted, 420000, '420,000 rows in 5,000-row inserts next to a truncated index\'s tree');
ax_verify($re, label => 'the small inserts', table => 'q', index => 'q_ax', expect_count => $inserted);
$re->stop;

# A logged insert that the tree takes never waits for the worker, even when the estimate of
# what it needs (24 bytes an entry, and half again) is more than is free: 500,000 entries in
# one flush, with the worker stopped.
my $nw = ax_node('limits_no_wait', memory => '16MB', conf => "autovacuum = off\n");
$nw->safe_psql('postgres', 'CREATE TABLE w (k bigint); CREATE INDEX w_ax ON w USING alexidx (k)');
my $stopped = ax_sidecar_pid($nw);
kill 'STOP', $stopped;
my $nwc = ax_bg($nw, 'postgres', 'no_wait',
	"SET alexidx.insert_buffer = 1000000; INSERT INTO w SELECT g FROM generate_series(1, 500000) g;\n");
my ($wrc, $wout, $werr) = ax_bg_finish($nwc, 60);
kill 'CONT', $stopped;
is($wrc, 0, 'a logged insert that the tree takes commits while the worker is stopped') or diag($werr);
ax_verify($nw, label => 'the insert made while the worker was stopped', table => 'w', index => 'w_ax',
	expect_count => 500000);
$nw->stop;

# ---- 5. more indexes than open files ----
# RocksDB keeps table files open, and each build ingests at least one. With the server's
# limit lowered to 300 open files (the worker started again to inherit it), 400 indexes must
# build, answer, and survive a restart, without the worker failing or dying.
my $nf = ax_node('limits_files', conf => "autovacuum = off\n");
system('prlimit', '--pid=' . $nf->{_pid}, '--nofile=300:300') == 0 or die "prlimit failed: $?";
my $first_worker = ax_sidecar_pid($nf);
kill 'TERM', $first_worker;
my $worker;
ax_poll(60, 0.1, sub { $worker = ax_sidecar_pid($nf); $worker ne '' && $worker ne $first_worker })
  or die 'no new sidecar worker';
ax_wait_ready($nf);
like(slurp_file("/proc/$worker/limits"), qr/Max open files\s+300\s+300/, 'the new worker has 300 open files');
my ($frc, $fout, $ferr) = $nf->psql('postgres',
	join('', map { "CREATE TABLE f$_ (k bigint); INSERT INTO f$_ SELECT g FROM generate_series(1, 100) g;
		CREATE INDEX f${_}_ax ON f$_ USING alexidx (k);\n" } 1 .. 400));
is($frc, 0, '400 indexes built with 300 open files') or diag($ferr);
is(ax_sidecar_pid($nf), $worker, 'the sidecar worker kept running');
ax_verify($nf, label => "index $_ of 400", table => "f$_", index => "f${_}_ax", expect_count => 100) for (1, 400);
$nf->restart;
ax_verify($nf, label => 'index 200 of 400 after a restart', table => 'f200', index => 'f200_ax', expect_count => 100);
$nf->stop;

# ---- 6. without shared_preload_libraries ----
my $plain = ax_node('no_preload', preload => 0, ext => 0);
my ($r, $o, $e) = $plain->psql('postgres', 'CREATE EXTENSION alexidx');
isnt($r, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like($e, qr/shared_preload_libraries/, 'and the message names shared_preload_libraries');
diag("no preload: " . join(' | ', grep { /ERROR|HINT/ } split /\n/, $e));
$plain->stop;
done_testing();
