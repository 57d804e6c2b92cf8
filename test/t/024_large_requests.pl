# Large flushes and large VACUUMs go to the sidecar in requests of at most 65,536 entries
# (1 MB of dynamic shared memory each), so that a small /dev/shm (64 MB in Docker) never fails
# them (issue 10, item 11) and no single write holds the group commit up for long (item 12).
# A large insert flush stays all-or-nothing in the sidecar (staged, then one write); the
# compaction after a large delete runs in steps between requests. The worker's DEBUG1 lines
# show every request's size; the index must stay exact through all of it and a restart.
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
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 300000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});

sub requests
{
	my ($from, $kind) = @_;
	my $log = slurp_file($node->logfile, $from);
	return [ $log =~ /alexidx sidecar: $kind of (\d+) entries/g ];
}

# one flush of 300,000 entries
my $start = -s $node->logfile;
$node->safe_psql('postgres', q{
	SET alexidx.insert_buffer = 1000000;
	INSERT INTO t SELECT g FROM generate_series(300001, 600000) g;
});
my ($stages, $writes) = (requests($start, 'stage'), requests($start, 'write'));
is(sum0(@$stages, @$writes), 300000, 'the flush sent all 300,000 entries');
ok(max(@$stages, @$writes) <= 65536, 'no write request holds more than 65,536 entries (largest: ' . max(@$stages, @$writes) . ')');
ok(@$stages >= 4, scalar(@$stages) . ' staged parts before the last one');
like(slurp_file($node->logfile, $start), qr/write of \d+ entries for build \d+ after staged ones/,
	'the last part is written together with the staged ones');
ax_verify($node, label => 'after a staged flush', expect_count => 600000);

# a VACUUM that deletes 500,000 entries (from the built runs and the inserted ones), then
# the compaction it starts
$node->safe_psql('postgres', 'DELETE FROM t WHERE k % 6 <> 0');
my $live = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
$start = -s $node->logfile;
$node->safe_psql('postgres', 'VACUUM t');
my $deletes = requests($start, 'delete');
is(sum0(@$deletes), 600000 - $live, 'VACUUM deleted every dead entry');
ok(max(@$deletes) <= 8192, scalar(@$deletes) . ' delete requests of at most 8,192 entries (largest: ' . max(@$deletes) . ')');
ax_verify($node, label => 'after the large VACUUM', expect_count => $live);
ok(ax_poll(30, 0.5, sub { slurp_file($node->logfile, $start) =~ /compaction of build \d+ done/ }),
	'the compaction finished');
my $steps = () = slurp_file($node->logfile, $start) =~ /compaction step of build/g;
ok($steps >= 4, "the compaction of 300,000 built entries took $steps steps");
$node->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(700001, 700100) g');
$live += 100;
$node->restart;    # the trees come back from the compacted sidecar
ax_verify($node, label => 'after the compaction and a restart', expect_count => $live);
$node->stop;
done_testing();
