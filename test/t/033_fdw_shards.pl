# Sharding on postgres_fdw (issue 15, item 4): a coordinator whose partitioned table has
# postgres_fdw foreign tables on two shard servers as partitions; each shard indexes its part
# with alexidx. Point, range, IN and ORDER BY ... LIMIT queries on the coordinator are pushed
# down (EXPLAIN VERBOSE shows the remote WHERE), the shards run them through their alexidx
# indexes (auto_explain logs the shards' plans), and every result equals the same rows in one
# local table.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $explain = "session_preload_libraries = 'auto_explain'\nauto_explain.log_min_duration = 0\n"
  . "auto_explain.log_nested_statements = on\nautovacuum = off\n";
my @shards = map { ax_node("shard$_", conf => $explain) } (1, 2);
my $coord = ax_node('coordinator', preload => 0, ext => 0, conf => "autovacuum = off\n");

# shard i holds keys [ (i-1) * 500000, i * 500000 )
for my $s (@shards)
{
	$s->safe_psql('postgres', q{
		CREATE TABLE ev_part (k bigint, at timestamptz, v int);
		CREATE INDEX ev_part_k_ax ON ev_part USING alexidx (k);
		CREATE INDEX ev_part_at_ax ON ev_part USING alexidx (at);
	});
}

$coord->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw');
for my $i (1, 2)
{
	my $s = $shards[ $i - 1 ];
	my ($host, $port) = ($s->host, $s->port);
	my $user = $coord->safe_psql('postgres', 'SELECT current_user');
	$coord->safe_psql('postgres', qq{
		CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '$host', port '$port', dbname 'postgres');
		CREATE USER MAPPING FOR "$user" SERVER shard$i;
	});
}
$coord->safe_psql('postgres', q{
	CREATE TABLE ev (k bigint, at timestamptz, v int) PARTITION BY RANGE (k);
	CREATE FOREIGN TABLE ev_1 PARTITION OF ev FOR VALUES FROM (MINVALUE) TO (500000)
		SERVER shard1 OPTIONS (table_name 'ev_part');
	CREATE FOREIGN TABLE ev_2 PARTITION OF ev FOR VALUES FROM (500000) TO (MAXVALUE)
		SERVER shard2 OPTIONS (table_name 'ev_part');
	CREATE TABLE ev_local (k bigint, at timestamptz, v int);
});

# rows go in through the coordinator: postgres_fdw routes each to its shard
my $rows = q{SELECT g * 5, timestamptz '2026-01-01' + (g * 5) * interval '1 second', g % 100
	FROM generate_series(0, 199999) g};
$coord->safe_psql('postgres', "INSERT INTO ev $rows; INSERT INTO ev_local $rows");
$coord->safe_psql('postgres', q{
	INSERT INTO ev VALUES (13, NULL, -1), (500013, NULL, -1);
	INSERT INTO ev_local VALUES (13, NULL, -1), (500013, NULL, -1);
	DELETE FROM ev WHERE k % 7 = 3;
	DELETE FROM ev_local WHERE k % 7 = 3;
	UPDATE ev SET v = v + 1000 WHERE k BETWEEN 400000 AND 600000;
	UPDATE ev_local SET v = v + 1000 WHERE k BETWEEN 400000 AND 600000;
});
$_->safe_psql('postgres', 'VACUUM ANALYZE ev_part') for @shards;
is($shards[0]->safe_psql('postgres', 'SELECT count(*) FROM ev_part') + $shards[1]->safe_psql('postgres', 'SELECT count(*) FROM ev_part'),
	$coord->safe_psql('postgres', 'SELECT count(*) FROM ev_local'), 'the shards together hold every row');

my @queries = (
	[ 'SELECT k, at, v FROM %s WHERE k = 123455', 'ev_part_k_ax' ],
	[ 'SELECT k, v FROM %s WHERE k = 777775', 'ev_part_k_ax' ],
	[ 'SELECT k, v FROM %s WHERE k BETWEEN 499000 AND 501000 ORDER BY k', 'ev_part_k_ax' ],
	[ 'SELECT k FROM %s WHERE k IN (5, 250000, 499995, 500000, 750005, 999995, 3) ORDER BY k', 'ev_part_k_ax' ],
	[ q{SELECT k, at FROM %s WHERE at >= timestamptz '2026-01-06' AND at < timestamptz '2026-01-06 00:30' ORDER BY k}, 'ev_part_at_ax' ],
	[ 'SELECT count(*), sum(v) FROM %s WHERE k > 990000', 'ev_part_k_ax' ],
	[ 'SELECT k FROM %s WHERE at IS NULL ORDER BY k', 'ev_part_at_ax' ],
);
for my $q (@queries)
{
	my ($sql, $shard_index) = @$q;
	my $dist = sprintf($sql, 'ev');
	my $local = sprintf($sql, 'ev_local');
	is($coord->safe_psql('postgres', $dist), $coord->safe_psql('postgres', $local), "coordinator equals one local table: $dist");
	next unless $shard_index;
	my $plan = $coord->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF) $dist");
	like($plan, qr/Remote SQL: .*WHERE/, "pushed down: $dist");
}

# the shards ran the pushed-down queries through their alexidx indexes
for my $i (0, 1)
{
	my $log = slurp_file($shards[$i]->logfile);
	like($log, qr/Index (Only )?Scan using ev_part_k_ax on public\.ev_part|Index (Only )?Scan using ev_part_k_ax on ev_part|Bitmap Index Scan on ev_part_k_ax/,
		'shard ' . ($i + 1) . ': pushed-down key queries used ev_part_k_ax');
}
like(slurp_file($shards[0]->logfile), qr/(Index (Only )?Scan using|Bitmap Index Scan on) ev_part_at_ax/,
	'shard 1: the pushed-down time range used ev_part_at_ax');
ax_verify($_, label => 'shard ' . $_->name, table => 'ev_part', index => 'ev_part_k_ax', where => 'k >= 0') for @shards;

$_->stop for (@shards, $coord);
done_testing();
