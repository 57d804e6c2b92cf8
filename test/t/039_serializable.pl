# SERIALIZABLE transactions that read through an alexidx index: write skew is caught. Two
# transactions each read a key range that the other then inserts into; committing both would
# be no serial order, so one must fail with a serialization failure, under index and bitmap
# scans alike, as with btree (the control): over narrow and wide ranges, NULLs and IN lists.
# Transactions that read and write disjoint ranges both commit, as with btree: alexidx locks
# buckets of the key space (predicate_locks.c), not the whole index. The two sessions run
# through dblink.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('serializable');
$node->safe_psql('postgres', 'CREATE EXTENSION dblink');
my $conn = $node->connstr('postgres');

# Two SERIALIZABLE transactions on a fresh table indexed by $am, scanned the $scan way: a
# reads where $read_a, b reads where $read_b, then a inserts key $ins_a and b key $ins_b, and
# both commit. Returns the psql stderr and how many of the two inserted rows committed.
sub pair
{
	my ($am, $scan, $read_a, $read_b, $ins_a, $ins_b) = @_;
	my $set = $scan eq 'index'
	  ? 'SET enable_seqscan = off; SET enable_bitmapscan = off'
	  : 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off';
	my $plan = $node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS s;
		CREATE TABLE s (k bigint, w text);
		INSERT INTO s SELECT g FROM generate_series(1000, 5000) g;
		CREATE INDEX s_idx ON s USING $am (k);
		VACUUM ANALYZE s;
		$set;
		EXPLAIN (COSTS OFF) SELECT count(*) FROM s WHERE $read_a;
	});
	like($plan, $scan eq 'index' ? qr/Index (Only )?Scan using s_idx/ : qr/Bitmap Index Scan on s_idx/,
		"$am, $scan: the reads use the index");
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SELECT dblink_connect('a', \$c\$$conn\$c\$);
		SELECT dblink_connect('b', \$c\$$conn\$c\$);
		SELECT dblink_exec('a', '$set; BEGIN ISOLATION LEVEL SERIALIZABLE');
		SELECT dblink_exec('b', '$set; BEGIN ISOLATION LEVEL SERIALIZABLE');
		SELECT * FROM dblink('a', 'SELECT count(*) FROM s WHERE $read_a') AS x(c bigint);
		SELECT * FROM dblink('b', 'SELECT count(*) FROM s WHERE $read_b') AS x(c bigint);
		SELECT dblink_exec('a', 'INSERT INTO s VALUES ($ins_a, ''a'')');
		SELECT dblink_exec('b', 'INSERT INTO s VALUES ($ins_b, ''b'')');
		SELECT dblink_exec('a', 'COMMIT');
		SELECT dblink_exec('b', 'COMMIT');
	});
	my $committed = $node->safe_psql('postgres', 'SELECT count(*) FROM s WHERE w IS NOT NULL');
	return ($err, $committed);
}

my $failure = qr/could not serialize access due to read\/write dependencies/;
# write skew: each inserts into the range the other read; committing both has no serial order
my @skews = (
	[ 'narrow ranges', 'k BETWEEN 1 AND 10', 'k BETWEEN 100 AND 110', 100, 5 ],
	# ranges of 4M keys: alexidx locks coarser buckets (1M keys each), below zero as well
	[ 'wide ranges', 'k BETWEEN -5000000 AND -1000000', 'k BETWEEN 1000000 AND 5000000', 2000000, -2000000 ],
	[ 'NULLs', 'k IS NULL', 'k BETWEEN 100 AND 110', 105, 'NULL' ],
	[ 'an IN list', 'k IN (3, 7, 9)', 'k BETWEEN 100 AND 110', 100, 7 ],
);
for my $am ('btree', 'alexidx')
{
	for my $scan ('index', 'bitmap')
	{
		for my $case (@skews)
		{
			my ($name, @args) = @$case;
			my ($err, $committed) = pair($am, $scan, @args);
			like($err, $failure, "$am, $scan, write skew over $name: one of the two transactions fails with a serialization failure");
			is($committed, '1', "$am, $scan, write skew over $name: only the other one's row committed");
		}
		# disjoint: each inserts outside the range the other read; both commit, as with btree
		my ($err, $committed) = pair($am, $scan, 'k BETWEEN 1 AND 10', 'k BETWEEN 100 AND 110', 20000, 30000);
		unlike($err, $failure, "$am, $scan, disjoint ranges: no serialization failure");
		is($committed, '2', "$am, $scan, disjoint ranges: both rows committed");
	}
}
# wide disjoint ranges: btree locks the edge pages where both inserts go (a false conflict it
# raises); alexidx's buckets of 1M keys keep them apart
for my $scan ('index', 'bitmap')
{
	my ($err, $committed) = pair('alexidx', $scan, 'k BETWEEN -5000000 AND -1000000', 'k BETWEEN 1000000 AND 5000000',
		9000000, -9000000);
	unlike($err, $failure, "alexidx, $scan, wide disjoint ranges: no serialization failure");
	is($committed, '2', "alexidx, $scan, wide disjoint ranges: both rows committed");
}

$node->stop;
done_testing();
