# SERIALIZABLE transactions that read through an alexidx index: write skew is caught. Two
# transactions each read a key range that the other then inserts into; committing both would
# be no serial order, so one must fail with a serialization failure, under index and bitmap
# scans alike, as with btree (the control). alexidx takes no fine-grained predicate locks
# (ampredlocks = false): PostgreSQL then locks the whole index for the scan, which is correct
# but coarse (README, Known limits). The two sessions run through dblink.
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

# Runs the write skew on a fresh table indexed by $am, scanned the $scan way; returns the
# psql stderr and the number of the two inserted rows that committed.
sub write_skew
{
	my ($am, $scan) = @_;
	my $set = $scan eq 'index'
	  ? 'SET enable_seqscan = off; SET enable_bitmapscan = off'
	  : 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off';
	my $plan = $node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS s;
		CREATE TABLE s (k bigint);
		INSERT INTO s SELECT g FROM generate_series(1000, 5000) g;
		CREATE INDEX s_idx ON s USING $am (k);
		VACUUM ANALYZE s;
		$set;
		EXPLAIN (COSTS OFF) SELECT count(*) FROM s WHERE k BETWEEN 1 AND 10;
	});
	like($plan, $scan eq 'index' ? qr/Index (Only )?Scan using s_idx/ : qr/Bitmap Index Scan on s_idx/,
		"$am, $scan: the reads use the index");
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SELECT dblink_connect('a', \$c\$$conn\$c\$);
		SELECT dblink_connect('b', \$c\$$conn\$c\$);
		SELECT dblink_exec('a', '$set; BEGIN ISOLATION LEVEL SERIALIZABLE');
		SELECT dblink_exec('b', '$set; BEGIN ISOLATION LEVEL SERIALIZABLE');
		SELECT * FROM dblink('a', 'SELECT count(*) FROM s WHERE k BETWEEN 1 AND 10') AS x(c bigint);
		SELECT * FROM dblink('b', 'SELECT count(*) FROM s WHERE k BETWEEN 100 AND 110') AS x(c bigint);
		SELECT dblink_exec('a', 'INSERT INTO s VALUES (100)');
		SELECT dblink_exec('b', 'INSERT INTO s VALUES (5)');
		SELECT dblink_exec('a', 'COMMIT');
		SELECT dblink_exec('b', 'COMMIT');
	});
	my $committed = $node->safe_psql('postgres', 'SELECT count(*) FROM s WHERE k < 1000');
	return ($err, $committed);
}

for my $am ('btree', 'alexidx')
{
	for my $scan ('index', 'bitmap')
	{
		my ($err, $committed) = write_skew($am, $scan);
		like($err, qr/could not serialize access due to read\/write dependencies/,
			"$am, $scan: one of the two transactions fails with a serialization failure");
		is($committed, '1', "$am, $scan: only the other one's row committed");
	}
}

$node->stop;
done_testing();
