# Crash under load: four clients insert unique keys (single rows, multi-row transactions,
# savepoints rolled back, transactions rolled back) while the whole server is killed, twice:
# once with SIGKILL to the postmaster and every child at once, once with an immediate stop.
# Every transaction the server acknowledged must be found through the index afterwards;
# unacknowledged ones must be all-or-nothing; index, bitmap and seq scans must agree.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use AlexidxRel;

my $node = ax_node('crash_load');
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT -g, -1 FROM generate_series(1, 20000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});
my %acked = map { (-$_ => 1) } 1 .. 20000;
my (@maybe, %never);

# insert buffers: flush every row, a small buffer, the default, a huge one (flushed at commit)
my @buffers = (1, 100, 0, 1_000_000);

my $round = 0;
for my $how ('sigkill', 'immediate')
{
	$round++;
	my $ntx = 6000;
	my $clients = ax_insert_clients($node, 4, $ntx, base => $round * 1_000_000,
		seed => $round, insert_buffers => \@buffers, name => "load$round");
	# crash in the middle of the load, once a quarter of it was acknowledged
	ax_wait_acked($clients, 0.25);
	if ($how eq 'sigkill') { ax_crash($node) }
	else { $node->stop('immediate') }
	my $r = ax_wait_clients($clients, 30);
	note("round $round errors: @{$r->{errors}}[0..2]") if @{ $r->{errors} };
	ok($r->{acked_tx} > 0, "$how: clients committed $r->{acked_tx} of $r->{tx} transactions before the crash");
	ok($r->{acked_tx} < $r->{tx}, "$how: the crash landed while the load was running");
	%acked = (%acked, %{ $r->{acked} });
	push @maybe, @{ $r->{maybe} };
	%never = (%never, %{ $r->{never} });

	$node->start;
	ax_verify($node, label => "crash under load ($how)", acked => \%acked, maybe => \@maybe,
		never => \%never);
}

# the index keeps working after the crashes: more load to completion, then a clean restart
my $clients = ax_insert_clients($node, 4, 300, base => 9_000_000, seed => 9, name => 'after');
my $r = ax_wait_clients($clients, 60);
is($r->{acked_tx}, $r->{tx}, 'after the crashes: every transaction commits');
is(scalar(@{ $r->{errors} }), 0, 'after the crashes: no client error');
%acked = (%acked, %{ $r->{acked} });
%never = (%never, %{ $r->{never} });
$node->restart;
ax_verify($node, label => 'after crashes, clean restart', acked => \%acked, maybe => \@maybe,
	never => \%never);

$node->stop;
done_testing();
