# Long scenario (not in CI; run by scripts/reliability-long.sh): test/t/013_concurrency.pl's
# 8-client alexidx-vs-btree workload, with a SIGKILL of the whole server in the middle and
# three rounds; bounded by ALEXIDX_LONG_SECS per round (default 300).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/..";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use AlexidxRel;

my $secs = $ENV{ALEXIDX_LONG_SECS} // 300;
my $node = ax_node('long_load', conf => "autovacuum_naptime = 1s\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	CREATE INDEX t_ax ON t USING alexidx (k);
});
my (%acked, @maybe, %never);
for my $round (1 .. 3)
{
	# 350-900 transactions a second per client here: a script of 3,000 a second lasts
	my $clients = ax_insert_clients($node, 8, 3_000 * $secs, base => $round * 100_000_000, seed => $round,
		insert_buffers => [ 1, 10, 100, 1000, 0, 0, 65536, 1_000_000 ], name => "r$round");
	sleep($secs);
	ax_crash($node);
	my $r = ax_wait_clients($clients, 120);
	%acked = (%acked, %{ $r->{acked} });
	push @maybe, @{ $r->{maybe} };
	%never = (%never, %{ $r->{never} });
	$node->start;
	ax_verify($node, label => "long load round $round", acked => \%acked, maybe => \@maybe, never => \%never);
	$node->safe_psql('postgres', 'VACUUM t');
}
$node->stop;
done_testing();
