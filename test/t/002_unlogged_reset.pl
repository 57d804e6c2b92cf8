# Unlogged tables come back empty after a crash, and so must their alexidx indexes;
# after a clean restart both keep their rows. Likewise for a table made unlogged, and back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unlogged');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'alexidx'\nalexidx.memory = 64MB\nwal_level = replica\nalexidx.sweep_interval = 1\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION alexidx;
	CREATE UNLOGGED TABLE u (k bigint);
	INSERT INTO u SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
	INSERT INTO u SELECT g FROM generate_series(1001, 2000) g;
	CREATE TABLE l (k bigint);
	INSERT INTO l SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX l_ax ON l USING alexidx (k);
});

my $forced = 'SET enable_seqscan = off; SET enable_bitmapscan = off; ';

$node->restart;
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM u WHERE k > 0'),
	'2000', 'clean restart: the unlogged index keeps its rows');

$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'crash: the unlogged table is empty');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM u WHERE k > 0'),
	'0', 'crash: the unlogged index is empty too');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM l WHERE k > 0'),
	'1000', 'crash: the logged index keeps its rows');

# The emptied index takes new rows.
$node->safe_psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(1, 10) g');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM u WHERE k > 0'),
	'10', 'the reset unlogged index takes new rows');
is($node->safe_psql('postgres', "SELECT alexidx_check('u_ax')"), '', 'alexidx_check passes on the reset index');

# A clean stop, then a start in recovery (a primary made a standby, then promoted): PostgreSQL
# resets unlogged relations after any recovery, crash or not, and so must the unlogged index;
# its build must also survive the recovery, while its main fork is gone.
$node->stop;
PostgreSQL::Test::Utils::append_to_file($node->data_dir . '/standby.signal', '');
$node->start;
sleep 2;    # the orphan sweep runs every second: it must not take the build meanwhile
$node->promote;
$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'recovery: the unlogged table is empty');
my ($ret, $out, $err) = $node->psql('postgres', $forced . 'SELECT count(*) FROM u WHERE k > 0');
is($out, '0', 'recovery: the unlogged index is empty too') or diag($err);
$node->safe_psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(1, 7) g');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM u WHERE k > 0'),
	'7', 'recovery: the reset unlogged index takes new rows');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM l WHERE k > 0'),
	'1000', 'recovery: the logged index keeps its rows');
is($node->safe_psql('postgres', "SELECT alexidx_check('u_ax')"), '', 'recovery: alexidx_check passes on the reset index');

# ALTER TABLE ... SET UNLOGGED and SET LOGGED rewrite the table and its indexes: a table made
# unlogged comes back empty after a crash, index and all; one made logged again keeps every
# row committed after, through the index.
$node->safe_psql('postgres', q{
	CREATE TABLE s (k bigint);
	INSERT INTO s SELECT g FROM generate_series(1, 500) g;
	CREATE INDEX s_ax ON s USING alexidx (k);
	ALTER TABLE s SET UNLOGGED;
	INSERT INTO s SELECT g FROM generate_series(501, 600) g;
});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM s'), '0', 'SET UNLOGGED, crash: the table is empty');
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM s WHERE k > 0'),
	'0', 'SET UNLOGGED, crash: its index is empty too');
$node->safe_psql('postgres', q{
	INSERT INTO s SELECT g FROM generate_series(1, 300) g;
	ALTER TABLE s SET LOGGED;
	INSERT INTO s SELECT g FROM generate_series(301, 450) g;
});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $forced . 'SELECT count(*), min(k), max(k) FROM s WHERE k > 0'),
	'450|1|450', 'SET LOGGED, crash: the index finds every committed row');
is($node->safe_psql('postgres', "SELECT alexidx_check('s_ax')"), '', 'SET LOGGED, crash: alexidx_check passes');

$node->stop;
done_testing();
