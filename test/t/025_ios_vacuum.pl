# Index-only scans and VACUUM (issue 10, item 6). An index-only scan copies a chunk of entries
# and returns them one by one, trusting the visibility map for each. If VACUUM removed some of
# those entries meanwhile, freed their TIDs and marked the page all-visible, the scan would
# return keys of deleted rows without looking at the heap. VACUUM must wait for scans that
# still hold entries it removes (nbtree's rule: "Making concurrent TID recycling safe").
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('ios_vacuum', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	VACUUM t;                             -- every page all-visible
	DELETE FROM t WHERE k BETWEEN 2 AND 50;
});

# the scan starts after the DELETE committed: rows 2..50 are dead to it
my $scan = $node->background_psql('postgres');
$scan->query_safe(q{SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexscan = on});
like($scan->query_safe(q{EXPLAIN (costs off) SELECT k FROM t WHERE k BETWEEN 1 AND 100 ORDER BY k}),
	qr/Index Only Scan using t_ax/, 'the query is an index-only scan');
$scan->query_safe(q{BEGIN; DECLARE c CURSOR FOR SELECT k FROM t WHERE k BETWEEN 1 AND 100 ORDER BY k});
is($scan->query_safe('FETCH 1 FROM c'), '1', 'the scan returned its first row and holds the next entries');

# VACUUM removes the dead rows' entries and TIDs, and sets the page all-visible again
my $vac = $node->background_psql('postgres');
$vac->query_until(qr/started/, "\\echo started\nVACUUM t;\n\\echo vacuumed\n");
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = 'VACUUM t;' AND wait_event_type = 'Extension'}),
	'VACUUM waits for the scan that holds entries it removed');
my $rest = $scan->query_safe('FETCH ALL FROM c');
is(join(',', split /\n/, $rest), join(',', 51 .. 100), 'the scan returns no key of a deleted row');
$scan->query_safe('COMMIT');
$scan->quit;
$vac->query_until(qr/vacuumed/, '');
$vac->quit;
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM t WHERE k BETWEEN 1 AND 100}), 51, 'after the VACUUM the index agrees');
ax_verify($node, label => 'after VACUUM under an index-only scan', expect_count => 951);
$node->stop;
done_testing();
