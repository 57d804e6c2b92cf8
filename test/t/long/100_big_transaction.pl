# Long scenario (not in CI; run by scripts/reliability-long.sh): one transaction inserts
# ALEXIDX_LONG_ROWS rows (default 10 million) into an indexed table, then an immediate stop;
# after the restart every row is found through the index. A second 10M-row transaction is
# killed mid-flush and must leave nothing behind after VACUUM.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/..";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $N = $ENV{ALEXIDX_LONG_ROWS} // 10_000_000;
my $node = ax_node('big_txn', memory => $ENV{ALEXIDX_LONG_MEMORY} // '4GB', conf => "autovacuum = off\nmax_wal_size = 8GB\n");
$node->safe_psql('postgres', 'CREATE TABLE t (k bigint, c int); CREATE INDEX t_ax ON t USING alexidx (k);');
$node->safe_psql('postgres', "INSERT INTO t SELECT (g::bigint * 7919) % 100000007, 0 FROM generate_series(1, $N) g",
	timeout => 3600);
$node->stop('immediate');
$node->start;
ax_verify($node, label => "one $N-row transaction, immediate stop", expect_count => $N);

# The second one dies during its flush: its buffer holds every entry (insert_buffer), so it
# flushes them all at commit, once its last row is in the heap. The heap has then grown by
# about as much again as the first transaction made it, and stops growing while the
# statement is still running. (The flush waits for nothing, so no wait event shows it.)
my $heap1 = $node->safe_psql('postgres', "SELECT pg_relation_size('t')");
my $c = ax_bg($node, 'postgres', 'second', "SET alexidx.insert_buffer = 16000000;\n"
	  . "INSERT INTO t SELECT 200000000 + g, 1 FROM generate_series(1, $N) g;\n");
my ($last, $in_flush) = (-1, 0);
ax_poll(3600, 0.05, sub {
	$c->{h}->pump_nb;    # (IPC::Run notices the client's exit only while pumped)
	return 1 unless $c->{h}->pumpable;
	my ($size, $active) = split /\|/, $node->safe_psql('postgres', q{
		SELECT pg_relation_size('t'), count(*) FROM pg_stat_activity
		WHERE query LIKE 'INSERT INTO t SELECT 2%' AND state = 'active'});
	$in_flush = $active > 0 && $size >= 2 * $heap1 - 2 * 8192 && $size == $last;
	$last = $size;
	return $in_flush;
});
ok($in_flush, 'the crash comes while the second transaction flushes its entries');
ax_crash($node);
ax_bg_finish($c, 60);
$node->start;
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
ok($n == $N || $n == 2 * $N, "the killed transaction is all or nothing ($n rows)");
$node->safe_psql('postgres', 'VACUUM t', timeout => 3600);
is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('t_ax')"), $n, 'after VACUUM the index holds exactly the live rows');
ax_verify($node, label => "$N-row transaction killed mid-flush", expect_count => $n);
$node->stop;
done_testing();
