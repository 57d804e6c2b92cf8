# Large flushes and large VACUUMs are cut into pieces of bounded size.
#  - A logged index logs them as WAL records of at most 32,768 entries (PostgreSQL reads a whole
#    record into memory, on the primary and on standbys).
#  - An unlogged index has no WAL: its backend sends the entries to the sidecar worker in
#    requests of at most 65,536 entries (1 MB of dynamic shared memory each, so a small
#    /dev/shm, 64 MB in Docker, never fails them). A large insert flush stays all-or-nothing in
#    the sidecar (staged, then one write).
# The compaction after a large delete runs in steps between requests. The worker's DEBUG1 lines
# show every request's size; the indexes must stay exact through all of it and a restart.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use List::Util qw(max sum0);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('large_requests', memory => '256MB', conf => "autovacuum = off\nlog_min_messages = debug1\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_walinspect;
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 300000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE UNLOGGED TABLE u (k bigint);
	INSERT INTO u SELECT g FROM generate_series(1, 300000) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
});

sub requests
{
	my ($from, $kind) = @_;
	my $log = slurp_file($node->logfile, $from);
	return [ $log =~ /alexidx sidecar: $kind of (\d+) entries/g ];
}

sub lsn { return $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()') }
# pg_walinspect reads only flushed WAL (and VACUUM's commit flushes nothing: switch)
sub flushed { $node->safe_psql('postgres', 'SELECT pg_switch_wal()'); return $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()') }

# The entry counts of alexidx's records of one kind between two positions.
sub records
{
	my ($from, $to, $kind) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SELECT substring(description FROM '; (\\d+) entries[; ]') FROM pg_get_wal_records_info('$from', '$to')
		WHERE resource_manager = 'alexidx' AND record_type = '$kind'});
	return [ grep { length } split /\n/, $out ];
}

# ---- one flush of 300,000 entries into each index ----
my $wal_start = lsn();
$node->safe_psql('postgres', q{
	SET alexidx.insert_buffer = 1000000;
	INSERT INTO t SELECT g FROM generate_series(300001, 600000) g;
});
my $recs = records($wal_start, flushed(), 'INSERT');
is(sum0(@$recs), 300000, 'the logged flush put all 300,000 entries in the WAL');
ok(@$recs > 0 && max(@$recs) <= 32768, scalar(@$recs) . ' WAL records of at most 32,768 entries (largest: ' . (max(@$recs) // 'none') . ')');
ax_verify($node, label => 'after a large logged flush', expect_count => 600000);

my $start = -s $node->logfile;
$node->safe_psql('postgres', q{
	SET alexidx.insert_buffer = 1000000;
	INSERT INTO u SELECT g FROM generate_series(300001, 600000) g;
});
my ($stages, $writes) = (requests($start, 'stage'), requests($start, 'write'));
is(sum0(@$stages, @$writes), 300000, 'the unlogged flush sent all 300,000 entries');
ok(max(@$stages, @$writes) <= 65536, 'no write request holds more than 65,536 entries (largest: ' . max(@$stages, @$writes) . ')');
ok(@$stages >= 4, scalar(@$stages) . ' staged parts before the last one');
like(slurp_file($node->logfile, $start), qr/write of \d+ entries for build \d+ after staged ones/,
	'the last part is written together with the staged ones');
ax_verify($node, label => 'after a staged unlogged flush', table => 'u', index => 'u_ax', expect_count => 600000);

# ---- VACUUMs that delete 500,000 entries (from the built runs and the inserted ones), then
# the compaction they start ----
$node->safe_psql('postgres', 'DELETE FROM t WHERE k % 6 <> 0; DELETE FROM u WHERE k % 6 <> 0');
my $live = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
$wal_start = lsn();
$start = -s $node->logfile;
$node->safe_psql('postgres', 'VACUUM t');
$recs = records($wal_start, flushed(), 'DELETE');
is(sum0(@$recs), 600000 - $live, 'the logged VACUUM logged every dead entry');
ok(@$recs > 0 && max(@$recs) <= 32768, scalar(@$recs) . ' DELETE records of at most 32,768 entries');
ax_verify($node, label => 'after the large logged VACUUM', expect_count => $live);
ok(ax_poll(30, 0.5, sub { slurp_file($node->logfile, $start) =~ /compaction of build \d+ done/ }),
	'the compaction finished');
my $steps = () = slurp_file($node->logfile, $start) =~ /compaction step of build/g;
ok($steps >= 4, "the compaction of 300,000 built entries took $steps steps");

$start = -s $node->logfile;
$node->safe_psql('postgres', 'VACUUM u');
my $deletes = requests($start, 'delete');
is(sum0(@$deletes), 600000 - $live, 'the unlogged VACUUM deleted every dead entry');
ok(max(@$deletes) <= 8192, scalar(@$deletes) . ' delete requests of at most 8,192 entries (largest: ' . max(@$deletes) . ')');
ax_verify($node, label => 'after the large unlogged VACUUM', table => 'u', index => 'u_ax', expect_count => $live);

$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(700001, 700100) g');
$node->safe_psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(700001, 700100) g');
$live += 100;
$node->restart;    # the trees come back from the compacted sidecar
ax_verify($node, label => 'after the compaction and a restart', expect_count => $live);
ax_verify($node, label => 'unlogged, after a restart', table => 'u', index => 'u_ax', expect_count => $live);
$node->stop;
done_testing();
