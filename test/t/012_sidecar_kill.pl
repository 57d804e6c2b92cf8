# SIGKILL only the sidecar worker, under insert load and while idle. The postmaster treats the
# dead worker as a crash and restarts every child; afterwards every acknowledged transaction is
# found through the index, scans agree and alexidx_check passes.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use AlexidxRel;

my $node = ax_node('sidecar_kill');
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT -g, -1 FROM generate_series(1, 20000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});
my %acked = map { (-$_ => 1) } 1 .. 20000;
my (@maybe, %never);

for my $round (1 .. 2)
{
	my $pid = ax_sidecar_pid($node);
	like($pid, qr/^\d+$/, "round $round: the sidecar worker runs (pid $pid)");
	my $clients = ax_insert_clients($node, 4, 6000, base => $round * 1_000_000, seed => $round,
		insert_buffers => [ 1, 100, 0, 1_000_000 ], name => "load$round");
	ax_wait_acked($clients, 0.25);
	ok(kill('KILL', $pid), "round $round: SIGKILL the sidecar worker under load");
	my $r = ax_wait_clients($clients, 30);
	ok($r->{acked_tx} > 0 && $r->{acked_tx} < $r->{tx},
		"round $round: $r->{acked_tx} of $r->{tx} transactions committed before the kill");
	ok(ax_wait_ready($node, 60), "round $round: the server is back after the crash restart");
	my $newpid = ax_poll(30, 0.2, sub { ax_sidecar_pid($node) });
	ok($newpid && $newpid ne $pid, "round $round: a new sidecar worker runs (pid $newpid)");
	%acked = (%acked, %{ $r->{acked} });
	push @maybe, @{ $r->{maybe} };
	%never = (%never, %{ $r->{never} });
	ax_verify($node, label => "sidecar SIGKILL under load, round $round", acked => \%acked,
		maybe => \@maybe, never => \%never);
}

# idle kill: nothing in flight
my $pid = ax_sidecar_pid($node);
kill 'KILL', $pid;
ok(ax_wait_ready($node, 60), 'idle kill: the server is back');
ax_poll(30, 0.2, sub { ax_sidecar_pid($node) });
$node->safe_psql('postgres', 'INSERT INTO t VALUES (42424242, 0)');
$acked{42424242} = 1;
ax_verify($node, label => 'sidecar SIGKILL while idle', acked => \%acked, maybe => \@maybe,
	never => \%never);
ok($node->log_contains(qr/alexidx sidecar.*was terminated by signal 9/), 'the server log names the killed worker');

# SIGTERM (pg_terminate_backend, a DBA's kill): the postmaster must start a new worker by
# itself, without a crash restart; writers in flight wait for it and commit, and an unlogged
# table's index keeps its rows (no crash happened, so nothing unlogged may be reset).
$node->safe_psql('postgres', q{
	CREATE UNLOGGED TABLE u (k bigint);
	INSERT INTO u SELECT g FROM generate_series(1, 5000) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
});
for my $round (1 .. 2)
{
	my $pid = ax_sidecar_pid($node);
	my $log_start = -s $node->logfile;
	my $clients = ax_insert_clients($node, 2, 1000, base => 200_000_000 + $round * 1_000_000,
		seed => 10 + $round, insert_buffers => [ 1, 100 ], name => "term$round");
	sleep(1);
	ok(kill('TERM', $pid), "SIGTERM round $round: SIGTERM the sidecar worker under load");
	my $newpid = ax_poll(30, 0.2, sub { my $p = ax_sidecar_pid($node); $p && $p ne $pid ? $p : '' });
	ok($newpid, "SIGTERM round $round: a new sidecar worker starts by itself (pid " . ($newpid || 'none') . ')');
	my $r = ax_wait_clients($clients, 60);
	is($r->{acked_tx}, $r->{tx}, "SIGTERM round $round: every transaction commits across the restart")
	  or diag(join("\n", @{ $r->{errors} }[0 .. 4]));
	%acked = (%acked, %{ $r->{acked} });
	push @maybe, @{ $r->{maybe} };
	%never = (%never, %{ $r->{never} });
	my $log = slurp_file($node->logfile, $log_start);
	unlike($log, qr/terminating any other active server processes|reinitializing/,
		"SIGTERM round $round: no crash restart");
	ax_verify($node, label => "sidecar SIGTERM, round $round", acked => \%acked, maybe => \@maybe,
		never => \%never);
	ax_verify($node, label => "sidecar SIGTERM, round $round: unlogged table", table => 'u',
		index => 'u_ax', expect_count => 5000);
}

$node->stop;
done_testing();
