# A standby that restarts after a crash replays again from its last restartpoint, while its
# sidecar, from which the trees load, is further on. Until the replay is back there the trees
# hold entries the heap does not have yet and lack entries of rows the heap still has: a scan
# must wait (up to alexidx.standby_wait) rather than answer from them. The replay is held
# behind with recovery_min_apply_delay.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\n");
$primary->safe_psql('postgres', q{
	CREATE TABLE w (k bigint, v text);
	INSERT INTO w SELECT g, 'row' || g FROM generate_series(1, 100) g;
	CREATE INDEX w_ax ON w USING alexidx (k);
});
my $standby = ax_standby($primary, 'standby',
	"alexidx.standby_wait = 2000\ncheckpoint_timeout = 1h\n");
$primary->wait_for_catchup($standby, 'replay');

# after the standby's last restartpoint: row 5 deleted, vacuumed, and its TID taken by a new row
$primary->safe_psql('postgres', q{
	DELETE FROM w WHERE k = 5;
	VACUUM w;
	INSERT INTO w VALUES (100005, 'new');
});
is($primary->safe_psql('postgres', 'SELECT ctid FROM w WHERE k = 100005'), '(0,5)',
	'the new row took the deleted row\'s TID');
my $target = $primary->lsn('insert');
$primary->wait_for_catchup($standby, 'replay', $target);
ok($standby->poll_query_until('postgres',
	"SELECT durable_lsn >= '$target' FROM alexidx_status()"),
	'the standby\'s sidecar has it durably');

my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
# the replay will stop at the first recent commit after the restart
$standby->append_conf('postgresql.conf', "recovery_min_apply_delay = '1h'\n");
$standby->stop('immediate');
$standby->start;
ok($standby->safe_psql('postgres', "SELECT pg_last_wal_replay_lsn() < '$target'") eq 't',
	'after the crash the standby replays from behind the sidecar');
my ($rc, $out, $err) = $standby->psql('postgres', "$force SELECT ctid, k, v FROM w WHERE k = 100005");
isnt($out, '(0,5)|5|row5', 'the index does not send key 100005 to the old row at its TID');
like($err, qr/the standby has not replayed the WAL up to/, 'the scan waits for the replay instead');
($rc, $out, $err) = $standby->psql('postgres', "$force SELECT count(*) FROM w WHERE k BETWEEN 1 AND 10");
like($err, qr/the standby has not replayed the WAL up to/, 'and so does a count');

# once the replay is back where the sidecar was, the standby answers
$standby->append_conf('postgresql.conf', "recovery_min_apply_delay = 0\n");
$standby->reload;
$primary->wait_for_catchup($standby, 'replay', $target);
is($standby->safe_psql('postgres', "$force SELECT ctid, k, v FROM w WHERE k = 100005"), '(0,5)|100005|new',
	'then the index finds the new row');
is($standby->safe_psql('postgres', "$force SELECT count(*) FROM w WHERE k BETWEEN 1 AND 10"), '9',
	'and not the deleted one');
$standby->stop;
$primary->stop;
done_testing();
