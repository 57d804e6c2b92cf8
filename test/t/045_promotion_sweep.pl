# A standby's replay writes an index's metapage through shared buffers; on disk the file stays
# zeroed until a restartpoint or checkpoint writes it. A promotion only requests its checkpoint,
# which runs spread out. Meanwhile the sidecar worker's orphan sweep (every
# alexidx.sweep_interval) must not take the zeroed file for a dropped index and drop a live
# build's data: the index would ask for a REINDEX right after a failover.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\n");
# no restartpoint, no background writes: the replayed pages stay in shared buffers only
my $standby = ax_standby($primary, 'standby',
	"shared_buffers = 256MB\ncheckpoint_timeout = 1h\nbgwriter_lru_maxpages = 0\nalexidx.sweep_interval = 1\n");

# an index made after the standby's last restartpoint, and enough dirty pages to keep the
# promotion's spread checkpoint busy for a while
$primary->safe_psql('postgres', q{
	CREATE TABLE filler (a int, b text);
	INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 10000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});
$primary->wait_for_catchup($standby, 'replay');
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
my $q = "$force SELECT count(*) FROM t WHERE k BETWEEN 1 AND 5000";
is($standby->safe_psql('postgres', $q), '5000', 'the standby answers through the index');
my $file = $standby->data_dir . '/' . $standby->safe_psql('postgres', "SELECT pg_relation_filepath('t_ax')");
my $meta = slurp_file($file);
ok(length($meta) < 8192 || $meta =~ /^\0+$/, 'the index file on the standby\'s disk has no metapage yet');

$primary->stop;
$standby->promote;
# several sweeps
sleep(4);
is($standby->safe_psql('postgres',
	'SELECT timeline_id FROM pg_control_checkpoint()'), '1',
	'the promotion\'s checkpoint has not finished yet');
my ($rc, $out, $err) = $standby->psql('postgres', $q);
is($out, '5000', "after the promotion the index still answers $err");
$standby->safe_psql('postgres', 'CHECKPOINT');
sleep(2);
is($standby->safe_psql('postgres', $q), '5000', 'and after the checkpoint and more sweeps');
$standby->safe_psql('postgres', "SELECT alexidx_check('t_ax')");
pass('alexidx_check passes on the promoted server');
$standby->stop;
done_testing();
