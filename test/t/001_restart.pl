# Restart test: every committed row is found through the index after a clean restart and
# after an immediate (crash) stop, because the worker rebuilds the trees from the sidecar.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'alexidx'\nalexidx.memory = 128MB\nwal_level = replica\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION alexidx;
	CREATE TABLE t (k bigint, v int);
	INSERT INTO t SELECT (g * 7919) % 100003, g FROM generate_series(1, 50000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	INSERT INTO t SELECT (g * 7919) % 100003, g FROM generate_series(50001, 60000) g;
	CREATE TABLE small_nodes (k bigint);
	INSERT INTO small_nodes SELECT g * 3 FROM generate_series(1, 100000) g;
	CREATE INDEX small_nodes_ax ON small_nodes USING alexidx (k) WITH (max_node_slots = 256);
});

# The tree's shape depends on its parameters: a restart must rebuild it with the index's own
# max_node_slots, not the library default (issue 10, item 8).
my $shape_sql = q{SELECT data_nodes, depth, model_nodes FROM alexidx_stats('small_nodes_ax')};
my $shape_before = $node->safe_psql('postgres', $shape_sql);

# Rows found through a forced index scan, and by a sequential scan.
sub counts
{
	my $via_index = $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(v) FROM t WHERE k BETWEEN -1 AND 200000;
	});
	my $via_seq = $node->safe_psql('postgres', q{
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		SELECT count(v) FROM t WHERE k BETWEEN -1 AND 200000;
	});
	my $plan = $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		EXPLAIN (costs off) SELECT count(v) FROM t WHERE k BETWEEN -1 AND 200000;
	});
	like($plan, qr/Index Scan using t_ax/, 'the count used the alexidx index');
	return ($via_index, $via_seq);
}

$node->restart;
is($node->safe_psql('postgres', $shape_sql), $shape_before,
	"clean restart: the tree keeps its max_node_slots shape (data_nodes, depth, model_nodes = $shape_before)");
my ($idx, $seq) = counts();
is($idx, 60000, 'clean restart: all committed rows found through the index');
is($seq, 60000, 'clean restart: seq scan agrees');

# Commit more rows, including single-row transactions, then crash.
$node->safe_psql('postgres', 'INSERT INTO t SELECT g, g FROM generate_series(60001, 70000) g');
$node->safe_psql('postgres', "INSERT INTO t VALUES ($_, $_)") for (70001 .. 70020);
$node->stop('immediate');
# A CREATE INDEX cut short by a crash leaves its SST files behind (only an error removes them):
# the next start must not keep them forever.
my $leftover = $node->data_dir . '/pg_alexidx/pgsql_tmp_ingest/4242.0.sst';
PostgreSQL::Test::Utils::append_to_file($leftover, 'x' x 4096);
$node->start;
ok(!-e $leftover, 'immediate stop: the start removes SST files a crashed build left behind');
is($node->safe_psql('postgres', $shape_sql), $shape_before,
	'immediate stop: the tree keeps its max_node_slots shape');
($idx, $seq) = counts();
is($idx, 70020, 'immediate stop: all committed rows found through the index');
is($seq, 70020, 'immediate stop: seq scan agrees');
is($node->safe_psql('postgres', "SELECT alexidx_check('t_ax')"), '', 'alexidx_check passes after the crash');
diag("restart test: rows committed = 70020, rows found through the index = $idx, by seq scan = $seq, lost = "
	  . (70020 - $idx));

$node->stop;
done_testing();
