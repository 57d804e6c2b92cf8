# Deployments DBAs already run, with alexidx indexes (issue 15, item 5): a pg_dump -Fc /
# pg_restore round trip (the dump carries the index definition; the restore rebuilds it),
# logical replication to a subscriber with its own alexidx index, and time partitioning with
# partitions attached and detached (DETACH ... CONCURRENTLY) under an alexidx index on the
# parent. Every index equals a seq scan of its table afterwards.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $pub = ax_node("publisher", conf => "wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\nautovacuum = off\n");
$pub->safe_psql('postgres', q{
	CREATE TABLE t (id int PRIMARY KEY, k bigint);
	INSERT INTO t SELECT g, g * 10 FROM generate_series(1, 20000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});

# ---- pg_dump -Fc / pg_restore ----
my $dump = $PostgreSQL::Test::Utils::tmp_check . '/t.dump';
$pub->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $pub->connstr('postgres') ], 'pg_dump -Fc');
$pub->safe_psql('postgres', 'CREATE DATABASE restored');
$pub->command_ok([ 'pg_restore', '-d', $pub->connstr('restored'), $dump ], 'pg_restore');
is($pub->safe_psql('restored', q{SELECT indexdef FROM pg_indexes WHERE indexname = 't_ax'}),
	'CREATE INDEX t_ax ON public.t USING alexidx (k)', 'the restored database has the alexidx index');
ax_verify($pub, db => 'restored', label => 'after pg_restore', expect_count => 20000);

# ---- logical replication to a subscriber with its own alexidx index ----
my $sub = ax_node('subscriber');
$sub->safe_psql('postgres', q{
	CREATE TABLE t (id int PRIMARY KEY, k bigint);
	CREATE INDEX t_ax ON t USING alexidx (k);
});
$pub->safe_psql('postgres', 'CREATE PUBLICATION p FOR TABLE t');
$sub->safe_psql('postgres', "CREATE SUBSCRIPTION s CONNECTION \$\$" . $pub->connstr('postgres') . "\$\$ PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');
$pub->safe_psql('postgres', q{
	INSERT INTO t SELECT g, g * 10 FROM generate_series(20001, 25000) g;
	UPDATE t SET k = -k WHERE id % 7 = 0;
	DELETE FROM t WHERE id % 11 = 0;
});
$pub->wait_for_catchup('s');
my $n = $pub->safe_psql('postgres', 'SELECT count(*) FROM t');
ax_verify($sub, label => 'logical replication subscriber', expect_count => $n);
my $rows_md5 = q{SELECT md5(string_agg(id || ':' || k, ',' ORDER BY id)) FROM t};
is($sub->safe_psql('postgres', $rows_md5), $pub->safe_psql('postgres', $rows_md5),
	'the subscriber has the publisher\'s rows');

# ---- time partitioning: ATTACH and DETACH ... CONCURRENTLY under an alexidx parent index ----
$pub->safe_psql('postgres', q{
	CREATE TABLE ev (k bigint, v int) PARTITION BY RANGE (k);
	CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (0) TO (10000);
	CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM (10000) TO (20000);
	CREATE INDEX ev_ax ON ev USING alexidx (k);
	INSERT INTO ev SELECT g, g FROM generate_series(0, 19999) g;
	-- a partition filled before it is attached, with and without its own alexidx index
	CREATE TABLE ev_3 (k bigint, v int);
	INSERT INTO ev_3 SELECT g, g FROM generate_series(20000, 29999) g;
	CREATE INDEX ev_3_ax ON ev_3 USING alexidx (k);
	ALTER TABLE ev ATTACH PARTITION ev_3 FOR VALUES FROM (20000) TO (30000);
	CREATE TABLE ev_4 (k bigint, v int);
	INSERT INTO ev_4 SELECT g, g FROM generate_series(30000, 39999) g;
	ALTER TABLE ev ATTACH PARTITION ev_4 FOR VALUES FROM (30000) TO (40000);
	INSERT INTO ev SELECT g, -g FROM generate_series(0, 39999, 7) g;
});
is($pub->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_am a ON a.oid = c.relam WHERE i.inhparent = 'ev_ax'::regclass AND a.amname = 'alexidx'}),
	4, 'every partition has an alexidx index attached to the parent\'s');
$pub->safe_psql('postgres', 'ALTER TABLE ev DETACH PARTITION ev_1 CONCURRENTLY');
for my $p (qw(ev_1 ev_2 ev_3 ev_4))
{
	my $index = $pub->safe_psql('postgres', qq{SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		JOIN pg_am a ON a.oid = c.relam WHERE x.indrelid = '$p'::regclass AND a.amname = 'alexidx'});
	my $rows = $pub->safe_psql('postgres', "SELECT count(*) FROM $p");
	ax_verify($pub, table => $p, index => $index, label => "partition $p ($index)", expect_count => $rows);
}
my $q = 'SELECT count(*), sum(v) FROM ev WHERE k BETWEEN 9990 AND 30010';
my $plan = $pub->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN (costs off) $q");
like($plan, qr/Index (Only )?Scan using ev_3_ax/, 'a query on the parent uses the partitions\' alexidx indexes');
is($pub->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
	$pub->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off; $q"),
	'the parent query through the indexes equals a seq scan');
$sub->stop;
$pub->stop;
done_testing();
