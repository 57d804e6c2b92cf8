# Moving alexidx indexes between tablespaces (issue 10, item 3): ALTER INDEX ... SET
# TABLESPACE gives the index a new relfilenode without ambuild, and ALTER DATABASE ... SET
# TABLESPACE moves every file of a database. Neither may cost the index its build: after
# several sweeps (alexidx.sweep_interval = 1) and a restart, every query through the index
# equals a seq scan and alexidx_check passes. A rolled-back move changes nothing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('tablespaces');
my $ts1 = PostgreSQL::Test::Utils::tempdir();
my $ts2 = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', "CREATE TABLESPACE ts1 LOCATION '$ts1'");
$node->safe_psql('postgres', "CREATE TABLESPACE ts2 LOCATION '$ts2'");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 20000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});
my $rows = 20000;

sub settle_and_verify
{
	my ($label, $db) = @_;
	sleep(3);    # several sweeps
	ax_verify($node, db => $db // 'postgres', label => $label, expect_count => $rows);
}

$node->safe_psql('postgres', 'ALTER INDEX t_ax SET TABLESPACE ts1');
is($node->safe_psql('postgres', "SELECT spcname FROM pg_class c JOIN pg_tablespace s ON s.oid = c.reltablespace WHERE relname = 't_ax'"),
	'ts1', 'the index now lives in ts1');
settle_and_verify('ALTER INDEX SET TABLESPACE ts1');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(20001, 21000) g');
$rows += 1000;
settle_and_verify('inserts after the move');

$node->safe_psql('postgres', q{
	BEGIN;
	ALTER INDEX t_ax SET TABLESPACE ts2;
	INSERT INTO t SELECT g FROM generate_series(21001, 21100) g;
	ROLLBACK;
});
settle_and_verify('a rolled-back move');

$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO t SELECT g FROM generate_series(21001, 21100) g;
	ALTER INDEX t_ax SET TABLESPACE pg_default;
	COMMIT;
});
$rows += 100;
settle_and_verify('a move back in a transaction that also inserts');

# ALTER DATABASE ... SET TABLESPACE (needs no session in that database)
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE EXTENSION alexidx;
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 21100) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});
$node->safe_psql('postgres', 'ALTER DATABASE other SET TABLESPACE ts2');
settle_and_verify('ALTER DATABASE SET TABLESPACE', 'other');

$node->restart;
ax_verify($node, label => 'after a restart', expect_count => $rows);
ax_verify($node, db => 'other', label => 'after a restart, the moved database', expect_count => $rows);
ax_assert_no_orphans($node, 'after the moves');
$node->stop;
done_testing();
