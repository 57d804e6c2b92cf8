# Unlogged indexes have no WAL: a backend's flush goes to the sidecar worker as a request, and
# the backend's tree and the sidecar must agree on every outcome, also when the worker stops in
# the middle. A sidecar entry the tree lacks comes back when the tree is loaded from the
# sidecar again (here: every clean restart, alexidx.keep_trees = off), pointing at a TID that
# VACUUM may have given to another row since; a tree entry the sidecar lacks loses its row.
# alexidx.test_worker_exit makes the worker exit at a chosen point, once.
#  1. a large flush (staged in parts) whose worker stops between two parts: the new worker
#     lacks the first part, so the flush fails whole (before: it wrote the rest and answered
#     OK, and the first part's rows were lost at the next load)
#  2. the worker stops after it wrote a large flush, before it answered: the new worker finds
#     the write's mark in the sidecar and answers OK (before: "the first part of a large write
#     is missing", the backend took the entries out of its tree and the sidecar kept them)
#  3. a request the backend gave up on before any worker took it (the worker was not running
#     for alexidx.worker_start_timeout) is never served (before: the next worker wrote it)
#  4. the worker took a write and stopped, and no worker came back in time: the outcome is
#     unknown; the entries stay in the tree and the transaction cannot commit
#  5. a cancel while the worker has not taken the write takes it back (before: the wait
#     held interrupts and could not be canceled)
#  6. a request a new worker took over from a stopped one cannot be taken back by a cancel
#  7. a write served again by the new worker and a VACUUM's delete of its entries in one group
#     write: the delete wins
# After each: the index equals a seq scan, alexidx_check passes, and so do both after VACUUM,
# new rows on the freed TIDs and a restart that loads the tree from the sidecar.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use AlexidxRel;

my $node = ax_node('unlogged_stops', memory => '256MB',
	conf => "autovacuum = off\nalexidx.keep_trees = off\nalexidx.worker_start_timeout = '2s'\n");
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';

$node->safe_psql('postgres', q{
	CREATE UNLOGGED TABLE u (k bigint, v int);
	INSERT INTO u SELECT g, g FROM generate_series(1, 1000) g;
	CREATE INDEX u_k ON u USING alexidx (k);
});

sub set_exit_point
{
	my ($point) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET alexidx.test_worker_exit = $point; SELECT pg_reload_conf()");
	# the worker reads it at its next round (every 50 ms)
	usleep(300_000);
}

sub wait_worker_running
{
	ok(ax_poll(30, 0.1, sub {
		$node->safe_psql('postgres', 'SELECT worker_state FROM alexidx_status()') eq 'running' }),
		"$_[0]: the worker runs again");
}

# The index against a seq scan (count and sum of keys), and alexidx_check.
sub check_index
{
	my ($label) = @_;
	my $q = 'SELECT count(*) || \' \' || coalesce(sum(k), 0) FROM u WHERE k >= 0';
	my $seq = $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $q");
	my $idx = $node->safe_psql('postgres', "$force SET enable_indexonlyscan = off; $q");
	is($idx, $seq, "$label: the index finds what a seq scan does ($seq)");
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT alexidx_check('u_k')");
	is($err, '', "$label: alexidx_check passes");
}

# VACUUM frees the dead rows' TIDs (INDEX_CLEANUP ON: with few dead rows PostgreSQL would skip
# the indexes and keep the TIDs), new rows take them with new keys, and a clean restart loads
# the tree from the sidecar: a stale sidecar entry would now return a new row.
sub reuse_and_reload
{
	my ($label, $base) = @_;
	$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) u');
	$node->safe_psql('postgres', "INSERT INTO u SELECT $base + g, 0 FROM generate_series(1, 300000) g");
	$node->restart;
	wait_worker_running("$label, restart");
	check_index("$label, after VACUUM, TID reuse and a restart");
}

# ---- 1. the worker stops between the parts of a large flush ----
set_exit_point(1);
my ($rc, $out, $err) = $node->psql('postgres',
	"SET alexidx.insert_buffer = 1000000; INSERT INTO u SELECT g, g FROM generate_series(100001, 300000) g");
like($err, qr/restarted during a large write/, '1: the flush fails whole');
wait_worker_running('1');
set_exit_point(0);
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k > 100000'), '0', '1: none of its rows committed');
check_index('1');
reuse_and_reload('1', 10_000_000);

# ---- 2. the worker stops after it wrote a large flush, before it answered ----
set_exit_point(2);
($rc, $out, $err) = $node->psql('postgres',
	"SET alexidx.insert_buffer = 1000000; INSERT INTO u SELECT g, g FROM generate_series(400001, 600000) g");
is($err, '', '2: the flush that the stopped worker wrote commits');
wait_worker_running('2');
set_exit_point(0);
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k BETWEEN 400001 AND 600000'), '200000',
	'2: all its rows committed');
check_index('2');
reuse_and_reload('2', 20_000_000);

# ---- 3. a request given up before any worker took it ----
# The postmaster is stopped, so the worker, once terminated, is not started again; the
# backend's commit waits alexidx.worker_start_timeout (2 s) and fails.
# (A session opened before: a stopped postmaster takes no new connection.)
my $pm = $node->{_pid};
my $pid = ax_sidecar_pid($node);
my $s = $node->background_psql('postgres', on_error_stop => 0);
kill 'STOP', $pm;
kill 'TERM', $pid;
ok(ax_poll(10, 0.1, sub { !-d "/proc/$pid" || `cat /proc/$pid/stat` =~ /^\d+ \(.*\) Z/ }), '3: the worker exited');
$s->query('INSERT INTO u SELECT g, g FROM generate_series(700001, 700100) g');
kill 'CONT', $pm;
like($s->{stderr}, qr/sidecar worker is not running/, '3: the commit fails after the timeout');
$s->quit;
wait_worker_running('3');
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k BETWEEN 700001 AND 700100'), '0',
	'3: none of its rows committed');
check_index('3');
reuse_and_reload('3', 30_000_000);

# ---- 4. the worker took a write and stopped, and none came back in time ----
# The flush runs before the scan, inside a savepoint; rows inserted before the savepoint are in
# it too. The postmaster is stopped, so the worker that exits after its write stays gone.
set_exit_point(2);
$pm = $node->{_pid};
$s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe('BEGIN');
$s->query_safe('INSERT INTO u SELECT g, g FROM generate_series(800001, 800050) g');
$s->query_safe('SAVEPOINT a');
$s->query_safe('INSERT INTO u SELECT g, g FROM generate_series(800051, 800100) g');
kill 'STOP', $pm;
$s->query("$force SELECT count(*) FROM u WHERE k > 800000");
like($s->{stderr}, qr/sidecar worker is not running/, '4: the flush fails once the worker is gone');
$s->{stderr} = '';
$s->query('ROLLBACK TO a');
$s->query('COMMIT');
like($s->{stderr}, qr/the transaction cannot commit/, '4: the transaction cannot commit');
$s->quit;
kill 'CONT', $pm;
wait_worker_running('4');
set_exit_point(0);
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k > 800000 AND k < 900000'), '0',
	'4: none of its rows committed');
check_index('4');
reuse_and_reload('4', 40_000_000);

# ---- 5. a cancel while the worker has not taken the write ----
# (The worker is stopped: the commit waits; before, it could not be canceled at all.)
$pid = ax_sidecar_pid($node);
$s = $node->background_psql('postgres', on_error_stop => 0);
my $backend = $s->query_safe('SELECT pg_backend_pid()');
kill 'STOP', $pid;
$s->query_until(qr/started/, "\\echo started\nINSERT INTO u SELECT g, g FROM generate_series(900001, 900100) g;\n\\echo done\n");
ok($node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $backend"),
	'5: the commit waits for the stopped worker');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($backend)");
$s->query_until(qr/done/, '');
like($s->{stderr}, qr/canceling statement due to user request/, '5: the cancel ends the wait');
$s->quit;
kill 'CONT', $pid;
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k BETWEEN 900001 AND 900100'), '0',
	'5: none of its rows committed');
check_index('5');
reuse_and_reload('5', 50_000_000);

# ---- 6. a request the new worker took over cannot be taken back ----
# The worker exits after it wrote a session's insert; the next one holds the request it took
# over (alexidx.test_worker_exit = 3) while the session is canceled. Before, the taken-over
# request was pending again, the cancel took it back, and the backend took the written entries
# out of its tree.
set_exit_point(3);
my $log_offset = -s $node->logfile;
$s = $node->background_psql('postgres', on_error_stop => 0);
$backend = $s->query_safe("SET alexidx.worker_start_timeout = '60s'; SELECT pg_backend_pid()");
$s->query_until(qr/started/, "\\echo started\nINSERT INTO u SELECT g, g FROM generate_series(910001, 910100) g;\n\\echo done\n");
ok($node->wait_for_log(qr/serving 1 request\(s\) that a stopped worker had taken/, $log_offset),
	'6: the new worker took the request over');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($backend)");
usleep(500_000);
set_exit_point(0);
$s->query_until(qr/done/, '');
$s->quit;
wait_worker_running('6');
my $n6 = $node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE k BETWEEN 910001 AND 910100');
ok($n6 eq '0' || $n6 eq '100', "6: the insert committed whole or not at all ($n6 rows)");
check_index('6');
reuse_and_reload('6', 60_000_000);

# ---- 7. a write served again meets a VACUUM's delete of its entries ----
# The worker exits after it wrote session A's insert, and none comes back (the postmaster is
# stopped): A's commit fails after 2 s, its entries stay in the tree, and a VACUUM in B finds
# them dead and waits to delete them. The next worker serves A's write again and B's delete in
# one group write, in slot order; the delete must win. Run with either session connected
# first (their slots, and so their order, differ).
for my $b_first (0, 1)
{
	my $label = '7' . ($b_first ? 'b' : 'a');
	set_exit_point(2);
	my ($a, $b);
	if ($b_first)
	{
		$b = $node->background_psql('postgres', on_error_stop => 0);
		$a = $node->background_psql('postgres', on_error_stop => 0);
	}
	else
	{
		$a = $node->background_psql('postgres', on_error_stop => 0);
		$b = $node->background_psql('postgres', on_error_stop => 0);
	}
	my $bpid = $b->query_safe("SET alexidx.worker_start_timeout = '60s'; SELECT pg_backend_pid()");
	my $base = $b_first ? 930000 : 920000;
	$pm = $node->{_pid};
	kill 'STOP', $pm;
	$a->query("INSERT INTO u SELECT g, g FROM generate_series($base + 1, $base + 100) g");
	like($a->{stderr}, qr/sidecar worker is not running/, "$label: A's commit fails once the worker is gone");
	$b->query_until(qr/started/, "\\echo started\nVACUUM (INDEX_CLEANUP ON) u;\n\\echo done\n");
	# (asked in A's session: a stopped postmaster takes no new connection)
	ok(ax_poll(60, 0.2, sub {
		$a->query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $bpid") eq 'Extension' }),
		"$label: B's VACUUM waits for the worker to delete A's entries");
	kill 'CONT', $pm;
	$b->query_until(qr/done/, '');
	is($b->{stderr}, '', "$label: B's VACUUM finishes");
	$a->quit;
	$b->quit;
	wait_worker_running($label);
	set_exit_point(0);
	check_index($label);
	reuse_and_reload($label, $b_first ? 80_000_000 : 70_000_000);
}

$node->stop;
done_testing();
