# alexidx_check looks from the index to the heap too (issue 10, item 15): an entry whose TID
# holds a row with another key, or no row at all, is reported, with the REINDEX to run; a
# check from the heap to the index alone passes on such an index. The wrong entries are
# written into the sidecar with the server stopped; the tree is loaded from it at start.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('check_index_to_heap', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint);
	INSERT INTO t SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE TABLE e (k bigint);
	CREATE INDEX e_ax ON e USING alexidx (k) WHERE k > 0;
	INSERT INTO e SELECT g FROM generate_series(-100, 100) g;
});
is($node->psql('postgres', "SELECT alexidx_check('t_ax')"), 0, 'a sound index passes');
is($node->psql('postgres', "SELECT alexidx_check('e_ax')"), 0, 'a sound partial index passes');

sub plant
{
	my ($index, $key, $ctid) = @_;
	my $build = $node->safe_psql('postgres', "SELECT (alexidx_stats('$index')).build_id");
	my ($block, $offset) = $ctid =~ /\((\d+),(\d+)\)/ or die "bad ctid $ctid";
	$node->stop;
	ax_sidecar_plant($node, $build, $key, $block, $offset);
	$node->start;
}

# 1. an entry for key 5000 that points to the row with k = 10
plant('t_ax', 5000, $node->safe_psql('postgres', 'SELECT ctid FROM t WHERE k = 10'));
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM t WHERE k = 5000}), 1, 'the wrong entry is there: the index finds a row for k = 5000');
my ($ret, $out, $err) = $node->psql('postgres', "SELECT alexidx_check('t_ax', false)");
isnt($ret, 0, 'alexidx_check fails on an entry that points to a row with another key');
like($err, qr/key 5000.*key 10|5000.*10/s, 'the error names both keys') or diag($err);
like($err, qr/REINDEX INDEX t_ax/, 'the error names the REINDEX to run');
$node->safe_psql('postgres', 'REINDEX INDEX t_ax');
is($node->psql('postgres', "SELECT alexidx_check('t_ax')"), 0, 'after REINDEX the index passes');

# 2. an entry that points past the end of the table
plant('t_ax', 77, '(4000,1)');
($ret, $out, $err) = $node->psql('postgres', "SELECT alexidx_check('t_ax')");
isnt($ret, 0, 'alexidx_check fails on an entry that points to no row');
like($err, qr/REINDEX INDEX t_ax/, 'that error names the REINDEX to run too');
$node->safe_psql('postgres', 'REINDEX INDEX t_ax');

# 3. a partial index with an entry for a row that its predicate excludes (same key)
plant('e_ax', -5, $node->safe_psql('postgres', 'SELECT ctid FROM e WHERE k = -5'));
($ret, $out, $err) = $node->psql('postgres', "SELECT alexidx_check('e_ax')");
isnt($ret, 0, 'alexidx_check fails on an entry for a row outside the partial index');

# deleted rows whose entries VACUUM has not removed yet are fine
$node->safe_psql('postgres', 'REINDEX INDEX e_ax; DELETE FROM t WHERE k % 3 = 0; DELETE FROM e WHERE k > 50');
is($node->psql('postgres', "SELECT alexidx_check('t_ax')"), 0, 'entries of dead rows before VACUUM pass');
is($node->psql('postgres', "SELECT alexidx_check('e_ax')"), 0, 'entries of dead rows before VACUUM pass (partial)');

# 4. alexidx_check locks the table before the index, as DDL does (and amcheck): the other
# order deadlocked with a DROP INDEX that came after the check began to wait for the table.
$node->safe_psql('postgres', 'CREATE TABLE dl (k bigint); INSERT INTO dl SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX dl_ax ON dl USING alexidx (k)');
my $dropper = ax_bg($node, 'postgres', 'dl_drop',
	"BEGIN; LOCK TABLE dl IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(2); DROP INDEX dl_ax; COMMIT;\n");
ax_poll(30, 0.05, sub {
	$node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE relation = 'dl'::regclass
		AND mode = 'ShareRowExclusiveLock' AND granted") eq '1' }) or die 'the table lock was not taken';
my $checker = ax_bg($node, 'postgres', 'dl_check', "SELECT alexidx_check('dl_ax');\n");
my ($drc, $dout, $derr) = ax_bg_finish($dropper, 60);
my ($crc, $cout, $cerr) = ax_bg_finish($checker, 60);
is($drc, 0, 'DROP INDEX went through while alexidx_check waited for the table') or diag($derr);
unlike($derr . $cerr, qr/deadlock/, 'no deadlock between alexidx_check and DROP INDEX');
$node->stop;
done_testing();
