# Dead hints (scan.c, kill_prior_tuple) against TID reuse. A scan marks the entries of rows it
# found dead to everyone when it next takes the tree's lock. If VACUUM removed those entries
# in between and new rows took their TIDs with the same keys, the new rows' entries equal the
# old ones: a mark made then would hide live rows from every later scan. The scan makes no
# marks once a VACUUM has erased entries since it copied its chunk (the scan epoch moved).
#
# A cursor in a second session (dblink) stops right after the deleted rows, with their marks
# pending; VACUUM runs, new rows take the freed TIDs with the old keys; the cursor goes on.
# Every new row must then be found through the index. Also: marks survive a clean restart
# (the kept trees) and disappear with a crash.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('dead_hints', conf => "autovacuum = off\n");
$node->safe_psql('postgres', 'CREATE EXTENSION dblink');
my $conn = $node->connstr('postgres');
my $index_scan = 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off';

# the heap buffers the index scan of a query touched (found in shared buffers or read)
$node->safe_psql('postgres', q{
CREATE FUNCTION scan_buffers(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Buffers: shared' THEN
      RETURN coalesce(substring(line from 'hit=([0-9]+)')::int, 0) + coalesce(substring(line from 'read=([0-9]+)')::int, 0);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
});

sub fill
{
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS t;
		CREATE TABLE t (k bigint, v int);
		INSERT INTO t SELECT g, g FROM generate_series(1, 4000) g;
		CREATE INDEX t_ax ON t USING alexidx (k);
		VACUUM ANALYZE t;
		DROP TABLE IF EXISTS old_tids;
		CREATE TABLE old_tids AS SELECT ctid AS tid, k FROM t WHERE k <= 3600;
		DELETE FROM t WHERE k <= 3600;
	});
}

sub counts
{
	my ($what) = @_;
	my $by_index = $node->safe_psql('postgres', "$index_scan; SELECT count(*) FROM t WHERE k BETWEEN 1 AND 4000");
	my $by_seq = $node->safe_psql('postgres', 'SET enable_indexscan = off; SET enable_bitmapscan = off;
		SET enable_indexonlyscan = off; SELECT count(*) FROM t WHERE k BETWEEN 1 AND 4000');
	is($by_index, $by_seq, "$what: the index finds every row ($by_seq)");
}

# ---- the race: marks pending across a VACUUM and the TIDs' reuse ----
fill();
# (one psql session: the dblink connection, and the cursor in it, live as long as it does)
my $out = $node->safe_psql('postgres', qq{
	SELECT dblink_connect('a', \$c\$$conn\$c\$);
	SELECT dblink_exec('a', '$index_scan');
	SELECT dblink_exec('a', 'BEGIN');
	SELECT dblink_exec('a', 'DECLARE c NO SCROLL CURSOR FOR SELECT k FROM t WHERE k BETWEEN 1 AND 4000 ORDER BY k');
	-- runs through the 3600 deleted rows (marking them chunk by chunk) to the first live one;
	-- the deleted rows of its chunk are still to be marked
	SELECT 'first ' || k FROM dblink_fetch('a', 'c', 1) AS x(k bigint);
	VACUUM t;
	INSERT INTO t SELECT g, -g FROM generate_series(1, 3600) g;
	SELECT 'reused ' || count(*) FROM t JOIN old_tids o ON t.ctid = o.tid AND t.k = o.k;
	SELECT 'rest ' || count(*) FROM dblink_fetch('a', 'c', 10000) AS x(k bigint);
	SELECT dblink_exec('a', 'COMMIT');
});
my %got = map { /^(first|reused|rest) (\d+)$/ ? ($1 => $2) : () } split /\n/, $out;
is($got{first}, 3601, 'the cursor stopped at the first live row');
cmp_ok($got{reused}, '>', 3000, "new rows took the freed TIDs with the old keys ($got{reused} of 3600)");
is($got{rest}, 399, 'the cursor returned the rest of its snapshot\'s rows');
counts('new rows on reused TIDs after a scan with pending marks');

# the same without the race: a second scan skips what the first marked
# (the heap buffers an index scan of keys 1..4000 touches)
sub range_buffers
{
	return $node->safe_psql('postgres',
		"$index_scan; SELECT scan_buffers('SELECT sum(v) FROM t WHERE k BETWEEN 1 AND 4000')");
}
fill();
my $first = range_buffers();
my $second = range_buffers();
cmp_ok($second * 2, '<', $first, "a second scan skips the rows the first found dead ($second buffers against $first)");

# ---- marks across restarts ----
$node->restart;
my $after_restart = range_buffers();
cmp_ok($after_restart * 2, '<', $first, "marks survive a clean restart with the kept trees ($after_restart buffers)");
counts('after a clean restart');
ax_crash($node);
$node->start;
my $after_crash = range_buffers();
cmp_ok($after_crash, '>=', $first - 2, "after a crash the trees come from the sidecar, without marks ($after_crash buffers)");
counts('after a crash');
$node->safe_psql('postgres', 'VACUUM t');
counts('after VACUUM');
$node->safe_psql('postgres', "SELECT alexidx_check('t_ax')");
pass('alexidx_check passes');

done_testing();
