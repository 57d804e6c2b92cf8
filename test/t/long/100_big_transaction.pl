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

# the second one dies during its flush
my $c = ax_bg($node, 'postgres', 'second', "SET alexidx.insert_buffer = 16000000;\n"
	  . "INSERT INTO t SELECT 200000000 + g, 1 FROM generate_series(1, $N) g;\n");
ax_poll(3600, 0.05, sub { !$c->{h}->pumpable || $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO t SELECT 2%' AND wait_event_type = 'Extension'") });
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
