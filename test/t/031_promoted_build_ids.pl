# A promoted standby hands out build ids that no build it replayed from the WAL already has.
# The standby's sidecar never handed out an id itself (it cannot build), so its counter is
# behind the primary's: a CREATE INDEX after the promotion must not take the id of an index
# that came over the WAL, or both indexes would share (and overwrite) one build.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\n");
$primary->backup('bk');
my $standby = ax_cluster('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

# the primary's first builds: ids 1 and 2 of its sidecar
$primary->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 5000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE TABLE u (k bigint, c int);
	INSERT INTO u SELECT -g, 0 FROM generate_series(1, 300) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby was not promoted';

# new builds on the new primary; each must get an id of its own
$standby->safe_psql('postgres', q{
	CREATE TABLE v (k bigint, c int);
	INSERT INTO v SELECT g * 1000, 1 FROM generate_series(1, 700) g;
	CREATE INDEX v_ax ON v USING alexidx (k);
	CREATE INDEX v_c_ax ON v USING alexidx (c);
	INSERT INTO t SELECT g, 9 FROM generate_series(100001, 100100) g;
});
ax_verify($standby, label => 't after new builds', table => 't', index => 't_ax', expect_count => 5100);
ax_verify($standby, label => 'u after new builds', table => 'u', index => 'u_ax', expect_count => 300);
ax_verify($standby, label => 'v', table => 'v', index => 'v_ax', expect_count => 700);
$standby->restart;
ax_verify($standby, label => 't after a restart', table => 't', index => 't_ax', expect_count => 5100);
ax_verify($standby, label => 'u after a restart', table => 'u', index => 'u_ax', expect_count => 300);
ax_verify($standby, label => 'v after a restart', table => 'v', index => 'v_ax', expect_count => 700);

$primary->stop;
$standby->stop;
done_testing();
