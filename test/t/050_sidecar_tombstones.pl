# Deleted entries and the sidecar's disk space. A removed entry leaves a tombstone in the
# sidecar (it may sit in a run of entries that a build wrote, which cannot lose one entry),
# and only a compaction of the build drops the tombstones with the entries they hide. Three
# ways tombstones used to stay for good, so that the sidecar grew without bound at a constant
# row count (and with it the time to load the index after a crash, and alexidx_check's):
#   1. an index made on an empty table has no runs, and its compaction stopped at once;
#   2. the tombstones of keys below the build's first key were outside every compaction step;
#   3. a churn of VACUUMs each too small to ask for a compaction (under 100,000 entries and
#      a quarter of the index) never compacted; the worker now compacts a build once its
#      deletes since the last compaction reach 100,000.
# Each case compares the index's sidecar_bytes with a twin index built fresh on the same rows.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('tombstones', conf => "autovacuum = off\n");

sub bytes
{
	my ($index) = @_;
	return $node->safe_psql('postgres', qq{SELECT sidecar_bytes FROM alexidx_stats('$index')});
}

# Waits (bounded) until the index's sidecar is at most $factor times the twin's plus $slack
# bytes; says both sizes either way.
sub shrinks_to_twin
{
	my ($index, $twin, $factor, $slack, $label) = @_;
	my $twin_bytes = bytes($twin);
	my $ok = ax_poll(60, 0.5, sub { bytes($index) <= $factor * $twin_bytes + $slack });
	ok($ok, $label) or diag("$index: " . bytes($index) . " bytes, fresh twin $twin: $twin_bytes bytes");
	note("$index: " . bytes($index) . " bytes, fresh twin $twin: $twin_bytes bytes");
	$node->safe_psql('postgres', "DROP INDEX $twin");
}

# 1. an index made on an empty table, its rows inserted and deleted three times
$node->safe_psql('postgres', q{
	CREATE TABLE e (k bigint);
	CREATE INDEX e_ax ON e USING alexidx (k);
});
for my $round (1 .. 3)
{
	$node->safe_psql('postgres', "INSERT INTO e SELECT g + $round * 1000000 FROM generate_series(1, 200000) g");
	$node->safe_psql('postgres', 'DELETE FROM e');
	$node->safe_psql('postgres', 'VACUUM e');
}
$node->safe_psql('postgres', 'CREATE INDEX e_twin ON e USING alexidx (k)');
shrinks_to_twin('e_ax', 'e_twin', 1, 200_000,
	'an index made on an empty table gives the space of its deleted entries back');

# 2. keys inserted below (and above) the build's, then deleted with a VACUUM that compacts
$node->safe_psql('postgres', q{
	CREATE TABLE g (k bigint);
	INSERT INTO g SELECT generate_series(1000001, 1400000);
	CREATE INDEX g_ax ON g USING alexidx (k);
	INSERT INTO g SELECT generate_series(1, 150000);
	INSERT INTO g SELECT generate_series(2000001, 2150000);
	DELETE FROM g WHERE k <= 150000 OR k > 2000000;
	DELETE FROM g WHERE k BETWEEN 1000001 AND 1100000;
	VACUUM g;
	CREATE INDEX g_twin ON g USING alexidx (k);
});
shrinks_to_twin('g_ax', 'g_twin', 1.2, 50_000,
	'the tombstones of keys below the build\'s first key go with its compaction');

# 3. a churn of small VACUUMs at a constant row count
$node->safe_psql('postgres', q{
	CREATE TABLE c (k bigint);
	INSERT INTO c SELECT generate_series(1, 200000);
	CREATE INDEX c_ax ON c USING alexidx (k);
});
for my $round (1 .. 4)
{
	my $lo = ($round - 1) * 30000;
	my $hi = $lo + 30000;
	$node->safe_psql('postgres', "DELETE FROM c WHERE k > $lo AND k <= $hi");
	$node->safe_psql('postgres', 'VACUUM c');
	$node->safe_psql('postgres',
		"INSERT INTO c SELECT g + 1000000 FROM generate_series($lo + 1, $hi) g");
}
$node->safe_psql('postgres', 'CREATE INDEX c_twin ON c USING alexidx (k)');
shrinks_to_twin('c_ax', 'c_twin', 2, 200_000,
	'a churn of small VACUUMs does not pile tombstones up');

for my $t (qw(e g c))
{
	ax_verify($node, label => "table $t", table => $t, index => "${t}_ax",
		expect_count => $node->safe_psql('postgres', "SELECT count(*) FROM $t"));
}
$node->restart;
ax_verify($node, label => 'table c after a restart', table => 'c', index => 'c_ax',
	expect_count => $node->safe_psql('postgres', 'SELECT count(*) FROM c'));
$node->stop;
done_testing();
