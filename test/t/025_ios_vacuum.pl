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

# A session with more index-only scans open than it has pin slots (256): a cursor over a Merge
# Append of 300 partitions' index-only scans. The scans past the slots share the overflow slot,
# which holds VACUUM up for every index until the cursor moves on.
$node->safe_psql('postgres', q{
	CREATE TABLE h (k bigint) PARTITION BY HASH (k);
	SELECT format('CREATE TABLE h_%s PARTITION OF h FOR VALUES WITH (MODULUS 300, REMAINDER %s)', g, g)
	  FROM generate_series(0, 299) g \gexec
	INSERT INTO h SELECT g FROM generate_series(1, 150000) g;
	CREATE INDEX h_ax ON h USING alexidx (k);
	VACUUM h;
	-- rows on the partitions' later pages: the cursor's first rows, on all-visible pages, pin
	-- no heap page that would keep VACUUM from removing them
	DELETE FROM h WHERE k > 120000;
});
$scan = $node->background_psql('postgres');
$scan->query_safe(q{SET enable_seqscan = off; SET enable_bitmapscan = off});
like($scan->query_safe(q{EXPLAIN (costs off) SELECT k FROM h WHERE k > 0 ORDER BY k}),
	qr/Merge Append.*Index Only Scan using h_299_k_idx/s, 'a Merge Append of 300 index-only scans');
$scan->query_safe(q{BEGIN; DECLARE c CURSOR FOR SELECT k FROM h WHERE k > 0 ORDER BY k});
is($scan->query_safe('FETCH 2 FROM c'), "1\n2", 'the cursor holds all 300 scans open');
# (h_0's scan has a pin slot, h_299's is among the 44 in the overflow slot; without TRUNCATE,
# which would wait for the cursor's table lock instead)
my @vacuums;
for my $part ('h_0', 'h_299')
{
	my $v = $node->background_psql('postgres');
	$v->query_until(qr/started/, "\\echo started\nVACUUM (TRUNCATE false) $part;\n\\echo vacuumed\n");
	ok($node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
		WHERE query = 'VACUUM (TRUNCATE false) $part;' AND wait_event_type = 'Extension'}),
		"VACUUM of $part waits for the cursor's scans");
	push @vacuums, $v;
}
my @rest = split /\n/, $scan->query_safe('FETCH ALL FROM c');
is(scalar(@rest), 119998, 'the cursor returns the rest of its rows');
is(scalar(grep { $_ > 120000 } @rest), 0, 'and no key of a deleted row');
$scan->query_safe('COMMIT');
$scan->quit;
for my $v (@vacuums)
{
	$v->query_until(qr/vacuumed/, '');
	$v->quit;
}
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM h WHERE k > 0}), 120000, 'after the VACUUM the partitions\' indexes agree');

# A scan that an error ends inside a subtransaction never reaches its end: its pin must go
# with the subtransaction, not hold VACUUM up until the transaction ends.
$node->safe_psql('postgres', 'DELETE FROM t WHERE k BETWEEN 60 AND 80');
$scan = $node->background_psql('postgres');
$scan->query_safe(q{SET enable_seqscan = off; SET enable_bitmapscan = off});
# (an EXCEPTION block: the failing scan's subtransaction aborts, the transaction stays open)
is($scan->query_safe(q{BEGIN; DO $$
	BEGIN
	  PERFORM count(*) FROM t WHERE k > 0 AND 100 / (k - 500) > -1000;
	EXCEPTION WHEN division_by_zero THEN
	  NULL;
	END $$;
	SELECT 'open'}), 'open', 'an index-only scan failed in a subtransaction; the transaction is open');
my ($rc, $vout, $verr) = $node->psql('postgres', "SET statement_timeout = '20s'; VACUUM t");
is($rc, 0, "VACUUM does not wait for the rolled-back scan $verr");
$scan->query_safe('COMMIT');
$scan->quit;

# A cursor declared before a savepoint but first fetched inside it: its scan begins there, yet
# belongs to the cursor, which outlives the savepoint's rollback, and so must its pin. (Its
# first row is the last key of an all-visible page, so that it holds no heap page pinned; the
# deleted rows after it are on the next page.)
my $first = $node->safe_psql('postgres', 'SELECT max(k) FROM t WHERE (ctid::text::point)[0] = 2');
$node->safe_psql('postgres', 'DELETE FROM t WHERE k BETWEEN ' . ($first + 1) . ' AND ' . ($first + 20));
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE (ctid::text::point)[0] = 2 AND k > ' . $first),
	'0', "key $first ends page 2");
$scan = $node->background_psql('postgres');
$scan->query_safe(q{SET enable_seqscan = off; SET enable_bitmapscan = off});
$scan->query_safe(qq{BEGIN; DECLARE c CURSOR FOR SELECT k FROM t WHERE k >= $first ORDER BY k; SAVEPOINT s});
is($scan->query_safe('FETCH 1 FROM c'), $first, 'the cursor\'s first fetch is inside the savepoint');
$scan->query_safe('ROLLBACK TO s');
$vac = $node->background_psql('postgres');
$vac->query_until(qr/started/, "\\echo started\nVACUUM (TRUNCATE false) t;\n\\echo vacuumed\n");
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = 'VACUUM (TRUNCATE false) t;' AND wait_event_type = 'Extension'}),
	'VACUUM waits for the cursor after the savepoint\'s rollback');
is(join(',', split /\n/, $scan->query_safe('FETCH 3 FROM c')), join(',', $first + 21 .. $first + 23),
	'the cursor returns no key of a deleted row');
$scan->query_safe('COMMIT');
$scan->quit;
$vac->query_until(qr/vacuumed/, '');
$vac->quit;
$node->stop;
done_testing();
