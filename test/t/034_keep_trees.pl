# alexidx.keep_trees: a clean shutdown writes the arena to pg_alexidx/pgsql_tmp_arena, and the
# next start reads the trees back instead of loading them from the sidecar, and answers exactly
# as before. Every other way
# to stop or start (immediate stop, a crash restart, recovery, changed settings, the setting
# off) loads from the sidecar, and answers exactly too.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('keep', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, v int);
	INSERT INTO t SELECT (g * 7919) % 200003, g FROM generate_series(1, 200000) g;
	INSERT INTO t SELECT NULL, g FROM generate_series(1, 100) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE UNLOGGED TABLE u (k int);
	INSERT INTO u SELECT g FROM generate_series(1, 5000) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
});
# changes after the build: inserts, a rolled back insert, deletes and a VACUUM
$node->safe_psql('postgres', 'INSERT INTO t SELECT 300000 + g, g FROM generate_series(1, 20000) g');
$node->psql('postgres', 'BEGIN; INSERT INTO t SELECT 400000 + g, g FROM generate_series(1, 5000) g; ROLLBACK;');
$node->safe_psql('postgres', 'DELETE FROM t WHERE k % 10 = 3; VACUUM t;');
my $rows = $node->safe_psql('postgres', 'SELECT count(k) FROM t');
my $urows = $node->safe_psql('postgres', 'SELECT count(*) FROM u');

my $image = $node->data_dir . '/pg_alexidx/pgsql_tmp_arena';
my $pos;

# Restarts with $how ('fast' or 'immediate'), then says whether the start took kept trees
# (how many), and checks every index against seq scans.
sub restart_and_verify
{
	my ($label, $how, %o) = @_;
	my $pos = -s $node->logfile;
	$node->stop($how);
	my $written = -e $image;
	$o{between}->() if $o{between};
	$node->start;
	$node->safe_psql('postgres', 'SELECT 1');
	my $taken = -1;
	ax_poll(30, 0.1, sub {
		my $log = substr(slurp_file($node->logfile), $pos);
		return 0 unless $log =~ /alexidx sidecar started/;
		$taken = $log =~ /took (\d+) trees kept at the last clean shutdown/ ? $1 : 0;
		return 1;
	});
	# (in recovery: checked after the promotion; unlogged tables cannot be read then)
	unless ($o{in_recovery})
	{
		ax_verify($node, label => $label, expect_count => $rows);
		ax_verify($node, label => "$label (unlogged)", table => 'u', index => 'u_ax',
			expect_count => $o{unlogged_rows} // $urows);
	}
	ok(!-e $image, "$label: the image is gone once the server runs");
	return ($taken, substr(slurp_file($node->logfile), $pos), $written);
}

my ($taken, $log, $written);
($taken, $log, $written) = restart_and_verify('clean restart', 'fast');
ok($written, 'clean restart: the shutdown wrote the image');
is($taken, 2, 'clean restart: the start took both trees from the image');
unlike($log, qr/preloaded build/, 'clean restart: no tree was loaded from the sidecar');

# the kept trees take changes as before, and are kept again
$node->safe_psql('postgres', 'INSERT INTO t SELECT 500000 + g, g FROM generate_series(1, 10000) g');
$node->safe_psql('postgres', 'DELETE FROM t WHERE k BETWEEN 500001 AND 500100; VACUUM t;');
$node->safe_psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(5001, 6000) g');
$rows = $node->safe_psql('postgres', 'SELECT count(k) FROM t');
$urows = $node->safe_psql('postgres', 'SELECT count(*) FROM u');
($taken) = restart_and_verify('second clean restart', 'fast');
is($taken, 2, 'second clean restart: the trees were kept again');

# an index created and one dropped since: only live trees are kept
$node->safe_psql('postgres', 'CREATE INDEX t_ax2 ON t USING alexidx (v); DROP INDEX u_ax; CREATE INDEX u_ax ON u USING alexidx (k);');
($taken) = restart_and_verify('after CREATE and DROP INDEX', 'fast');
is($taken, 3, 'after CREATE and DROP INDEX: the three live trees were kept');
my $by_v = q{SELECT count(*) || ' ' || sum(v) FROM t WHERE v BETWEEN 1 AND 150000};
like($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN $by_v"),
	qr/t_ax2/, 'the second index of t answers the count');
is($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $by_v"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $by_v"),
	'after CREATE and DROP INDEX: the second index of t equals a seq scan');

# The kept trees answer as soon as the worker has registered them, read from the image the
# processes map read-only; changes wait until the worker has copied it into the arena's memory
# (alexidx.hold_arena_copy holds that copy here), and the image's space is given back then.
sub image_bytes_held
{
	my ($pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	for my $fd (glob("/proc/$pm/fd/*"))
	{
		my $to = readlink($fd) // '';
		return -s $fd if $to =~ m{pgsql_tmp_arena};
	}
	return undef;
}
$node->append_conf('postgresql.conf', "alexidx.hold_arena_copy = on\n");
$pos = -s $node->logfile;
$node->stop('fast');
ok(-e $image, 'held copy: the shutdown wrote the image');
$node->start;
ok(ax_poll(30, 0.1, sub { substr(slurp_file($node->logfile), $pos) =~ /took 3 trees kept at the last clean shutdown/ }),
	'held copy: the start took the three trees');
ax_verify($node, label => 'answering from the image', expect_count => $rows, no_check => 1);
ax_verify($node, label => 'answering from the image (unlogged)', table => 'u', index => 'u_ax',
	expect_count => $urows, no_check => 1);
unlike(substr(slurp_file($node->logfile), $pos), qr/copied the kept trees into memory/,
	'held copy: the trees answered before they were copied');
ok(!-e $image, 'held copy: the image has no name once taken');
cmp_ok(image_bytes_held() // 0, '>', 1 << 20, 'held copy: the postmaster keeps the image open');
my $writer = ax_bg($node, 'postgres', 'held_writer', "INSERT INTO t VALUES (800001, 1);\n");
ok(ax_poll(30, 0.1, sub { $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO t VALUES (800001%' AND wait_event_type = 'Extension'}) eq '1' }),
	'held copy: an INSERT waits for the copy');
sleep 1;
ok($writer->{h}->pumpable, 'held copy: the INSERT is still waiting a second later');
# a worker that stops before the copy: the next one does the copy (held too), the trees
# answer from the image meanwhile
my $held_worker = ax_sidecar_pid($node);
kill 'TERM', $held_worker;
ok(ax_poll(30, 0.1, sub { my $p = ax_sidecar_pid($node); $p ne '' && $p ne $held_worker }),
	'held copy: a new worker replaced the stopped one');
ax_verify($node, label => 'answering from the image, worker restarted', expect_count => $rows, no_check => 1);
ok($writer->{h}->pumpable, 'held copy: the INSERT still waits for the copy');
$node->append_conf('postgresql.conf', "alexidx.hold_arena_copy = off\n");
$node->reload;
my ($wrc, undef, $werr) = ax_bg_finish($writer, 60);
is($wrc, 0, 'held copy: the INSERT ends once the trees are copied') or diag($werr);
ok(ax_poll(30, 0.1, sub { substr(slurp_file($node->logfile), $pos) =~ /copied the kept trees into memory/ }),
	'held copy: the worker copied the trees');
ok(ax_poll(30, 0.1, sub { (image_bytes_held() // 0) == 0 }), 'held copy: the image\'s space is given back');
$rows++;
is($node->safe_psql('postgres', 'SELECT count(k) FROM t'), $rows, 'held copy: the row is in the table');
ax_verify($node, label => 'after the copy', expect_count => $rows);
# a worker started after the copy (forked from the postmaster, which maps the emptied image)
# reads and changes the trees in memory
my $old_worker = ax_sidecar_pid($node);
$pos = -s $node->logfile;
kill 'TERM', $old_worker;
ok(ax_poll(30, 0.1, sub { substr(slurp_file($node->logfile), $pos) =~ /alexidx sidecar started/ }),
	'held copy: the worker restarted');
ax_verify($node, label => 'worker restarted after the copy', expect_count => $rows);
$node->safe_psql('postgres', 'DELETE FROM t WHERE k = 800001; VACUUM t;');
$rows--;
unlike(substr(slurp_file($node->logfile), $pos), qr/terminated by signal/,
	'held copy: no process died after the worker restarted');
($taken) = restart_and_verify('clean restart after a held copy', 'fast');
is($taken, 3, 'clean restart after a held copy: kept again');

# a stop while the copy is held writes no image (the memory holds no trees yet): the next
# start loads from the sidecar
$node->append_conf('postgresql.conf', "alexidx.hold_arena_copy = on\n");
$node->restart;
ok(ax_poll(30, 0.1, sub { $node->safe_psql('postgres', "SELECT count(*) FROM t WHERE k = 1") ne '' }), 'stop while held: the server answers');
($taken, $log, $written) = restart_and_verify('stop while held', 'fast',
	between => sub { $node->append_conf('postgresql.conf', "alexidx.hold_arena_copy = off\n") });
ok(!$written, 'stop while held: no image written');
is($taken, 0, 'stop while held: no kept trees');

# an immediate stop does not seal: the trees load from the sidecar, and the unlogged index
# is reset like its table
$node->safe_psql('postgres', 'INSERT INTO t SELECT 600000 + g, g FROM generate_series(1, 1000) g');
$rows = $node->safe_psql('postgres', 'SELECT count(k) FROM t');
($taken, $log, $written) = restart_and_verify('immediate stop', 'immediate', unlogged_rows => 0);
ok(!$written, 'immediate stop: no image written');
is($taken, 0, 'immediate stop: no kept trees');
$node->safe_psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(1, 100) g');
$urows = 100;

# a crash restart (a backend killed) makes shared memory anew without a seal
$node->safe_psql('postgres', 'SELECT 1');
$pos = -s $node->logfile;
my $bg = ax_bg($node, 'postgres', 'victim', "SELECT pg_sleep(60);\n");
ax_poll(30, 0.05, sub { $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'}) eq '1' });
my $victim = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'});
kill 'KILL', $victim;
ax_bg_finish($bg, 30);
ax_poll(60, 0.2, sub { substr(slurp_file($node->logfile), $pos) =~ /alexidx sidecar started/ });
$log = substr(slurp_file($node->logfile), $pos);
unlike($log, qr/took \d+ trees kept/, 'crash restart: no kept trees');
ok(!-e $image, 'crash restart: no image written');
ax_verify($node, label => 'crash restart', expect_count => $rows);

# a clean stop, then a start in recovery: not kept (the worker applies the WAL to the trees)
($taken, $log) = restart_and_verify('start in recovery', 'fast', in_recovery => 1,
	between => sub { PostgreSQL::Test::Utils::append_to_file($node->data_dir . '/standby.signal', '') });
is($taken, 0, 'start in recovery: no kept trees');
like($log, qr/not taking the trees in "pg_alexidx\/pgsql_tmp_arena": the server starts in recovery/,
	'start in recovery: the start says why');
$node->promote;
$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
$node->safe_psql('postgres', 'INSERT INTO t SELECT 700000 + g, g FROM generate_series(1, 1000) g');
$rows = $node->safe_psql('postgres', 'SELECT count(k) FROM t');
$urows = $node->safe_psql('postgres', 'SELECT count(*) FROM u');
ax_verify($node, label => 'after the promotion', expect_count => $rows);
ax_verify($node, label => 'after the promotion (unlogged)', table => 'u', index => 'u_ax',
	expect_count => $urows);

# changed settings: not kept
($taken, $log) = restart_and_verify('alexidx.memory changed', 'fast',
	between => sub { $node->append_conf('postgresql.conf', "alexidx.memory = 160MB\n") });
is($taken, 0, 'alexidx.memory changed: no kept trees');
like($log, qr/not taking the trees in .*: alexidx.memory or alexidx.max_indexes changed/, 'alexidx.memory changed: the start says why');
($taken) = restart_and_verify('clean restart with the new size', 'fast');
is($taken, 3, 'clean restart with the new size: kept again');

# off: no image at shutdown, and an image from before is not taken
($taken, $log) = restart_and_verify('alexidx.keep_trees = off', 'fast',
	between => sub { $node->append_conf('postgresql.conf', "alexidx.keep_trees = off\n") });
is($taken, 0, 'alexidx.keep_trees = off: no kept trees');
like($log, qr/not taking the trees in .*: alexidx.keep_trees is off/, 'alexidx.keep_trees = off: the start says why');
$node->stop;
ok(!-e $image, 'alexidx.keep_trees = off: the shutdown writes no image');
$node->append_conf('postgresql.conf', "alexidx.keep_trees = on\n");
$node->start;
# every tree loaded (through its index), so the next shutdown lists all three
$node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM t WHERE k = 1; SELECT count(*) FROM t WHERE v = 1; SELECT count(*) FROM u WHERE k = 1");

# Bytes of a sidecar file damaged while the server is stopped: no write, so the image is
# taken and the trees answer as before the damage; alexidx_check, which reads the sidecar,
# reports it with the REINDEX to run.
$node->safe_psql('postgres', 'CHECKPOINT');
# (last: the damaged sidecar stays)
($taken) = restart_and_verify('SST damaged offline', 'fast', in_recovery => 1, between => sub {
	my @sst = sort { (-s $b) <=> (-s $a) } glob($node->data_dir . '/pg_alexidx/pgsql_tmp_live/*.sst');
	open(my $fh, '+<', $sst[0]) or die "$sst[0]: $!";
	binmode $fh;
	my $size = -s $sst[0];
	for my $off (map { int($size * $_ / 10) } 1 .. 6)
	{
		seek($fh, $off, 0);
		print $fh "\xde\xad\xbe\xef" x 64;
	}
	close $fh;
});
is($taken, 3, 'SST damaged offline: the trees were taken from the image');
is($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM t WHERE k >= 0"),
	$rows, 'SST damaged offline: the index answers as before the damage');
my ($cret, $cout, $cerr) = $node->psql('postgres', "SELECT alexidx_check('t_ax')");
isnt($cret, 0, 'SST damaged offline: alexidx_check reads the sidecar and fails');
like($cerr, qr/REINDEX/, 'SST damaged offline: the error names REINDEX') or diag($cerr);

$node->stop;
done_testing();
