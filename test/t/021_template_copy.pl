# CREATE DATABASE ... TEMPLATE copies every index file, metapage included (issue 10, item 1).
# Each copy must get a build of its own: afterwards the template and the copies change
# independently (deletes, VACUUM, inserts), each index equals a seq scan of its own
# database, and dropping the template leaves the copies intact, across a restart. Both
# strategies: WAL_LOG (PostgreSQL 15's default) and FILE_COPY.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('template_copy', ext => 0, conf => "autovacuum = off\n");
$node->safe_psql('postgres', 'CREATE DATABASE a');
$node->safe_psql('a', q{
	CREATE EXTENSION alexidx;
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 1100) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	INSERT INTO t SELECT g FROM generate_series(1101, 1200) g;
});
$node->safe_psql('postgres', 'CREATE DATABASE b TEMPLATE a STRATEGY FILE_COPY');
# (TEMPLATE DEFAULT, which names no database, is template1)
$node->safe_psql('postgres', 'CREATE DATABASE d TEMPLATE DEFAULT');
$node->safe_psql('postgres', 'CREATE DATABASE c TEMPLATE a STRATEGY WAL_LOG');
my %count = (a => 1200, b => 1200, c => 1200);

# each database goes its own way
$node->safe_psql('a', 'INSERT INTO t SELECT g FROM generate_series(5001, 5300) g');
$count{a} += 300;
$node->safe_psql('b', 'DELETE FROM t WHERE k <= 700; VACUUM t; INSERT INTO t SELECT g FROM generate_series(9001, 9010) g');
$count{b} += -700 + 10;
$node->safe_psql('c', 'DELETE FROM t WHERE k > 1000; VACUUM t');
$count{c} -= 200;
$node->safe_psql('a', 'DELETE FROM t WHERE k % 2 = 0; VACUUM t');
$count{a} -= 750;

for my $db (qw(a b c))
{
	ax_verify($node, db => $db, label => "database $db after the copies diverged", expect_count => $count{$db});
}
isnt($node->safe_psql('b', "SELECT (alexidx_stats('t_ax')).build_id"),
	$node->safe_psql('a', "SELECT (alexidx_stats('t_ax')).build_id"),
	'the copy has a build of its own');

$node->safe_psql('postgres', 'DROP DATABASE a');
sleep(3);    # several sweeps
for my $db (qw(b c))
{
	ax_verify($node, db => $db, label => "database $db after DROP DATABASE of its template", expect_count => $count{$db});
}
$node->safe_psql('b', 'INSERT INTO t VALUES (424242)');
$count{b}++;
$node->restart;
for my $db (qw(b c))
{
	ax_verify($node, db => $db, label => "database $db after a restart", expect_count => $count{$db});
}
ax_assert_no_orphans($node, 'after the copies and the drop');

# A template whose index, or whole database, moved to another tablespace since the last sweep:
# the sweep settles where a build lives, and until then its record still names the old place
# (an empty file, or none). The copy must find the index where it is now. No sweep runs in
# between: the next one is an hour away.
$node->safe_psql('postgres', 'ALTER SYSTEM SET alexidx.sweep_interval = 3600; SELECT pg_reload_conf()');
my $ts = $node->basedir . '/ts_move';
mkdir $ts or die "mkdir $ts: $!";
$node->safe_psql('postgres', "CREATE TABLESPACE ts_move LOCATION '$ts'");
$node->safe_psql('postgres', 'CREATE DATABASE m');
$node->safe_psql('m', q{
	CREATE EXTENSION alexidx;
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	ALTER INDEX t_ax SET TABLESPACE ts_move;
});
$node->safe_psql('postgres', 'CREATE DATABASE m1 TEMPLATE m');
ax_verify($node, db => 'm1', label => 'a copy of a template whose index moved before the sweep', expect_count => 1000);
$node->safe_psql('m', 'ALTER INDEX t_ax SET TABLESPACE pg_default');
$node->safe_psql('postgres', 'ALTER DATABASE m SET TABLESPACE ts_move');
$node->safe_psql('postgres', 'CREATE DATABASE m2 TEMPLATE m STRATEGY FILE_COPY');
ax_verify($node, db => 'm2', label => 'a copy of a template database that moved before the sweep', expect_count => 1000);

# A database dropped and made again from the same template with the same OID before a sweep:
# the copies for the dropped one (which went their own way) are dead, and must be neither
# taken for the new database's nor kept.
$node->safe_psql('postgres', 'CREATE DATABASE x OID 70000 TEMPLATE m');
$node->safe_psql('x', 'INSERT INTO t SELECT g FROM generate_series(5001, 5100) g; DELETE FROM t WHERE k <= 500; VACUUM t');
ax_verify($node, db => 'x', label => 'the first database with OID 70000', expect_count => 600);
$node->safe_psql('postgres', 'DROP DATABASE x');
$node->safe_psql('postgres', 'CREATE DATABASE x OID 70000 TEMPLATE m');
ax_verify($node, db => 'x', label => 'a database made again with the OID of a dropped copy', expect_count => 1000);
is($node->safe_psql('m', 'SELECT count(*) FROM alexidx_sidecar_builds() WHERE dboid = 70000'),
	'1', 'the dropped database\'s copy went when the new one was made');

$node->safe_psql('postgres', 'ALTER SYSTEM SET alexidx.sweep_interval = 1; SELECT pg_reload_conf()');
ax_assert_no_orphans($node, 'after the copies of moved templates');
# the sweep found the template's own index where its database moved it (after the index had
# moved twice without a sweep), and so did it for the copies
for my $db (qw(m m1 m2))
{
	ax_verify($node, db => $db, label => "database $db after the sweep", expect_count => 1000);
}
$node->stop;
done_testing();
