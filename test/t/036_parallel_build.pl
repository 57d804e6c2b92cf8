# Parallel CREATE INDEX (am/backend/build_scan.c).
#   - The workers PostgreSQL would give a btree build are launched: the build's DEBUG1 line says
#     how many took part. None with max_parallel_maintenance_workers = 0 or a parallel-unsafe
#     expression.
#   - What only the workers saw reaches the leader: the heap's tuple count (pg_class.reltuples)
#     and broken HOT chains (pg_index.indcheckxmin), with parallel_leader_participation = off.
#   - An error or a statement timeout in a worker fails the build and leaves no sidecar build
#     and no temporary file behind.
#   - Every index equals a seq scan, and again after a crash (the sidecar got the merged runs).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('parallel', conf => "autovacuum = off\nlog_min_messages = debug1\n"
	  . "max_parallel_maintenance_workers = 2\nmaintenance_work_mem = 256MB\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, v int) WITH (parallel_workers = 2);
	INSERT INTO t SELECT (g::bigint * 7919) % 100003, g FROM generate_series(1, 300000) g;
	INSERT INTO t VALUES (NULL, 0);
	-- (plpgsql: a SQL function would be inlined, and its marking would not count)
	CREATE FUNCTION safe_id(bigint) RETURNS bigint IMMUTABLE PARALLEL SAFE LANGUAGE plpgsql AS 'BEGIN RETURN $1; END';
	CREATE FUNCTION unsafe_id(bigint) RETURNS bigint IMMUTABLE PARALLEL UNSAFE LANGUAGE plpgsql AS 'BEGIN RETURN $1; END';
	CREATE FUNCTION boom(bigint) RETURNS bigint IMMUTABLE PARALLEL SAFE LANGUAGE plpgsql
	  AS $$ BEGIN IF $1 = 4242 THEN RAISE EXCEPTION 'boom at %', $1; END IF; RETURN $1; END $$;
	CREATE FUNCTION slow(bigint) RETURNS bigint IMMUTABLE PARALLEL SAFE LANGUAGE plpgsql
	  AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN $1; END $$;
});

# The number of parallel workers the last build of $index reported.
sub workers_of
{
	my ($index) = @_;
	my @n = slurp_file($node->logfile) =~ /alexidx build of "\Q$index\E": \d+ entries, (\d+) parallel workers/g;
	return @n ? $n[-1] : 'no build line';
}

sub temp_files
{
	my $dir = $node->data_dir . '/base/pgsql_tmp';
	return 0 unless -d $dir;
	opendir(my $dh, $dir) or die "$dir: $!";
	my @f = grep { !/^\.\.?$/ } readdir($dh);
	closedir $dh;
	note("left in pgsql_tmp: @f") if @f;
	return scalar @f;
}

# ---- a parallel build ----
$node->safe_psql('postgres', 'CREATE INDEX t_ax ON t USING alexidx (k)');
is(workers_of('t_ax'), 2, 'CREATE INDEX took two parallel workers');
ax_verify($node, label => 'parallel build', expect_count => 300000);
is($node->safe_psql('postgres', q{SELECT entries FROM alexidx_stats('t_ax')}), 300001,
	'every row and the NULL are in the tree');

# ---- the workers alone scan: their tuple count reaches pg_class ----
$node->safe_psql('postgres', q{UPDATE pg_class SET reltuples = 1 WHERE oid = 't'::regclass});
$node->safe_psql('postgres', 'SET parallel_leader_participation = off; REINDEX INDEX t_ax');
is(workers_of('t_ax'), 2, 'REINDEX without the leader took two workers');
is($node->safe_psql('postgres', q{SELECT reltuples FROM pg_class WHERE oid = 't'::regclass}), 300001,
	'the workers\' heap tuple count reached pg_class');
ax_verify($node, label => 'build by the workers alone', expect_count => 300000);

# ---- no workers where btree would get none ----
$node->safe_psql('postgres', 'SET max_parallel_maintenance_workers = 0; CREATE INDEX t_serial ON t USING alexidx (k)');
is(workers_of('t_serial'), 0, 'max_parallel_maintenance_workers = 0: a serial build');
ax_verify($node, index => 't_serial', label => 'serial build');
$node->safe_psql('postgres', 'DROP INDEX t_serial');
$node->safe_psql('postgres', 'CREATE INDEX t_unsafe ON t USING alexidx (unsafe_id(k))');
is(workers_of('t_unsafe'), 0, 'a parallel-unsafe expression: a serial build');
$node->safe_psql('postgres', 'CREATE INDEX t_safe ON t USING alexidx (safe_id(k))');
is(workers_of('t_safe'), 2, 'the same expression, parallel safe: two workers');
my $q = 'SELECT count(*), sum(v) FROM t WHERE safe_id(k) BETWEEN 100 AND 5000';
my $plan = $node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN (costs off) $q");
like($plan, qr/Index Scan using t_safe/, 'the expression query uses the parallel-built index');
is($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $q"),
	'the expression index equals a seq scan');
$node->safe_psql('postgres', 'DROP INDEX t_unsafe, t_safe');

# TRUNCATE rebuilds the index on an empty heap, which index_build gives no workers
$node->safe_psql('postgres', q{
	CREATE TABLE tr (k bigint) WITH (parallel_workers = 2);
	INSERT INTO tr SELECT g FROM generate_series(1, 100000) g;
	CREATE INDEX tr_ax ON tr USING alexidx (k);
});
is(workers_of('tr_ax'), 2, 'the build of tr took two workers');
$node->safe_psql('postgres', 'BEGIN; TRUNCATE tr; INSERT INTO tr VALUES (7); COMMIT');
is(workers_of('tr_ax'), 0, 'the rebuild of TRUNCATE took none');
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT k FROM tr WHERE k > 0'), 7,
	'the index after TRUNCATE holds the new row');

# ---- a broken HOT chain seen only by the workers ----
$node->safe_psql('postgres', q{
	CREATE TABLE h (k bigint, v int) WITH (parallel_workers = 2, fillfactor = 50);
	INSERT INTO h SELECT g, g FROM generate_series(1, 100000) g;
});
# an older snapshot keeps the HOT updates' old versions recently dead, not dead
my $holder = ax_bg($node, 'postgres', 'holder',
	"BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT count(*) FROM h;\nSELECT pg_sleep(120);\n");
ok(ax_poll(30, 0.2, sub {
	$node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'}) == 1 }),
	'a transaction holds a snapshot from before the updates');
$node->safe_psql('postgres', 'UPDATE h SET k = k + 1000000 WHERE v % 3 = 0');
is($node->safe_psql('postgres', q{SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'h'}),
	33333, 'the updates were HOT');
$node->safe_psql('postgres', 'SET parallel_leader_participation = off; CREATE INDEX h_ax ON h USING alexidx (k)');
is(workers_of('h_ax'), 2, 'the build of h took two workers');
is($node->safe_psql('postgres', q{SELECT indcheckxmin FROM pg_index WHERE indexrelid = 'h_ax'::regclass}),
	't', 'a broken HOT chain found by a worker makes the index wait for older snapshots');
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'});
ax_bg_finish($holder, 10);
ax_verify($node, table => 'h', index => 'h_ax', label => 'after the HOT updates', expect_count => 100000);

# ---- a worker's error, and a statement timeout, fail the build cleanly ----
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'SET parallel_leader_participation = off; CREATE INDEX t_boom ON t USING alexidx (boom(k))');
isnt($ret, 0, 'an error in a worker fails CREATE INDEX');
like($stderr, qr/boom at 4242/, 'with the worker\'s error');
like($stderr, qr/parallel worker/, 'raised in a parallel worker');
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SET statement_timeout = '1s'; CREATE INDEX t_slow ON t USING alexidx (slow(k))});
like($stderr, qr/canceling statement due to statement timeout/, 'a statement timeout stops a parallel build');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname IN ('t_boom', 't_slow')}), 0,
	'neither index exists');
is(temp_files(), 0, 'no temporary file of the failed builds is left');
ax_assert_no_orphans($node, 'after the failed parallel builds');

# ---- a crash: the trees reload from what the sidecar got of the merged runs ----
$node->safe_psql('postgres', 'INSERT INTO t SELECT g, g FROM generate_series(200000, 200999) g');
ax_crash($node);
$node->start;
ax_verify($node, label => 't after a crash', expect_count => 301000);
ax_verify($node, table => 'h', index => 'h_ax', label => 'h after a crash', expect_count => 100000);

$node->stop;
done_testing();
