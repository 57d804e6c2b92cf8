# Unlogged tables come back empty after a crash, and so must their alexidx indexes;
# after a clean restart both keep their rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unlogged');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'alexidx'\nalexidx.memory = 64MB\nwal_level = replica\n");
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

$node->stop;
done_testing();
