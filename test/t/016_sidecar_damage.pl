# Damaged sidecar files (server stopped, files under pg_alexidx/pgsql_tmp_live changed, server started):
# the sidecar directory emptied, an SST file truncated, an SST file with corrupted bytes, the
# MANIFEST removed. Each gives a clear error that names REINDEX, and REINDEX recovers: a
# database RocksDB will not open (corrupt, or a file it needs is gone) is moved aside at start
# and the sidecar starts empty. Last, a sidecar the worker may not open at all: DROP still works.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Path qw(rmtree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use AlexidxRel;

# The damage is done with the server stopped cleanly; alexidx.keep_trees would bring the trees
# back from the arena image without reading the sidecar (034 covers damage under it), so this
# file tests the path that reads the sidecar.
my $node = ax_node('damage', conf => "autovacuum = off\nalexidx.keep_trees = off\n");
my $db = $node->data_dir . '/pg_alexidx/pgsql_tmp_live';

sub fresh_index
{
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS t;
		CREATE TABLE t (k bigint, c int);
		INSERT INTO t SELECT g, 0 FROM generate_series(1, 50000) g;
		CREATE INDEX t_ax ON t USING alexidx (k);
		CHECKPOINT;
	});
}

# The SST file holding the index's entries: the largest one (the build's packed runs), not a
# small flush of bookkeeping keys.
sub newest_sst
{
	my @sst = sort { (-s $b) <=> (-s $a) || $b cmp $a } glob("$db/*.sst");
	return $sst[0];
}

# Damages the files with $how (server stopped), starts, and returns the first error a query
# through the index gives (empty if none).
sub damage
{
	my ($label, $how) = @_;
	fresh_index();
	$node->stop;
	$how->();
	$node->start;
	my ($ret, $out, $err) = $node->psql('postgres',
		'SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM t WHERE k > 0');
	my ($msg) = $err =~ /(ERROR:.*)/;
	diag("$label: query " . ($ret == 0 ? "returned $out" : "failed: " . join(' | ', grep { /ERROR|DETAIL|HINT/ } split /\n/, $err)));
	return ($ret, $out, $err);
}

sub recover_with_reindex
{
	my ($label) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', 'REINDEX INDEX t_ax');
	is($ret, 0, "$label: REINDEX succeeds") or diag($err);
	ax_verify($node, label => "$label, after REINDEX", expect_count => 50000) if $ret == 0;
}

# 1. the whole sidecar emptied
my ($ret, $out, $err) = damage('sidecar emptied', sub { rmtree($db); mkdir $db, 0700; });
isnt($ret, 0, 'sidecar emptied: the index scan fails instead of returning wrong rows');
like($err, qr/REINDEX/, 'sidecar emptied: the error names REINDEX');
recover_with_reindex('sidecar emptied');

# 2. an SST file truncated
my $sst;
($ret, $out, $err) = damage('SST truncated', sub {
	$sst = newest_sst();
	truncate($sst, int((-s $sst) / 2)) or die "truncate $sst: $!";
});
ok($ret != 0 || $out eq '50000', 'SST truncated: an error, or every one of the 50,000 rows')
  or diag("got $out");
like($err, qr/REINDEX/, 'SST truncated: the error names REINDEX') if $ret != 0;
recover_with_reindex('SST truncated');

# 3. corrupted bytes in the middle of an SST file
($ret, $out, $err) = damage('SST corrupted', sub {
	$sst = newest_sst();
	open(my $fh, '+<', $sst) or die "$sst: $!";
	binmode $fh;
	my $size = -s $sst;
	for my $off (map { int($size * $_ / 10) } 1 .. 6)
	{
		seek($fh, $off, 0);
		print $fh "\xde\xad\xbe\xef" x 64;
	}
	close $fh;
});
isnt($ret, 0, 'SST corrupted: the index scan fails instead of returning wrong rows');
like($err, qr/REINDEX/, 'SST corrupted: the error names REINDEX');
# REINDEX drops the old build: its files, the corrupt one among them, are deleted without being
# read (a compaction that read them would put RocksDB into its read-only background-error
# state, for every alexidx index). So the new build checks clean, and the sidecar keeps taking
# writes and builds (40 rounds of build + drop, bounded at about 10 s).
recover_with_reindex('SST corrupted');
# The old build is dropped by the orphan sweep once PostgreSQL has unlinked the old relation
# file at a checkpoint (bounded wait: 20 s).
$node->safe_psql('postgres', 'CHECKPOINT');
ok(ax_poll(20, 0.2, sub { !-e $sst }), 'SST corrupted: the dropped build\'s damaged file is deleted');
my ($r2, $o2, $e2);
for (1 .. 40)
{
	($r2, $o2, $e2) = $node->psql('postgres',
		'CREATE INDEX probe_ax ON t USING alexidx (c); DROP INDEX probe_ax; INSERT INTO t VALUES (-1, 0); DELETE FROM t WHERE k = -1;');
	last if $r2 != 0;
	usleep(250_000);
}
is($r2, 0, 'SST corrupted: after REINDEX the sidecar still takes writes') or diag($e2);
ax_verify($node, label => 'SST corrupted, after the write rounds', expect_count => 50000);

# 4. the MANIFEST removed
($ret, $out, $err) = damage('MANIFEST removed', sub { unlink glob("$db/MANIFEST-*") });
isnt($ret, 0, 'MANIFEST removed: the index scan fails');
like($err, qr/REINDEX/, 'MANIFEST removed: the error names REINDEX');
like(slurp_file($node->logfile), qr/alexidx sidecar was damaged and has been moved aside to \S+pgsql_tmp_live\.corrupt-\d+/,
	'MANIFEST removed: the log says where the damaged sidecar was moved');
recover_with_reindex('MANIFEST removed');

# 5. a sidecar the worker cannot open (its directory made unreadable): the worker fails and
# every query says why, but dropping indexes does not need the sidecar; once it opens again,
# the sweep drops their builds.
fresh_index();
$node->safe_psql('postgres', q{
	CREATE TABLE t2 (k bigint);
	INSERT INTO t2 SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX t2_ax ON t2 USING alexidx (k);
	CREATE INDEX t2_bx ON t2 USING alexidx (k);
	CHECKPOINT;
});
$node->stop;
chmod 0, $db or die "chmod $db: $!";
$node->start;
ok(ax_poll(30, 0.2, sub { $node->safe_psql('postgres', 'SELECT worker_state FROM alexidx_status()') eq 'failed' }),
	'unopenable sidecar: the worker reports that it failed');
($ret, $out, $err) = $node->psql('postgres',
	'SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM t WHERE k > 0');
like($err, qr/alexidx sidecar is unavailable: .*Permission denied/, 'unopenable sidecar: a query says why');
for my $drop ('DROP INDEX t2_bx', 'DROP TABLE t2', 'DROP EXTENSION alexidx CASCADE')
{
	($ret, $out, $err) = $node->psql('postgres', $drop);
	is($ret, 0, "unopenable sidecar: $drop succeeds") or diag($err);
}
$node->stop;
chmod 0700, $db or die "chmod $db: $!";
$node->start;
ax_assert_no_orphans($node, 'unopenable sidecar, once it opens again');

$node->stop;
done_testing();
