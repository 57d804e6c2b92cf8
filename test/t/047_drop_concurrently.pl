# DROP INDEX CONCURRENTLY of an alexidx index while other sessions use it. PostgreSQL runs it
# as several transactions: the first marks the index invalid (it still takes inserts), then it
# waits for every transaction that may use the index, marks it dead, waits again, and only the
# last one removes it. Its data must outlive all of that: until the last step, sessions that
# started before still insert into it and read it, and a drop canceled part way leaves an index
# that PostgreSQL keeps writing.
#  1. a transaction that inserted before the drop began inserts again, reads through the
#     index and commits while the drop waits for it; a cursor opened before goes on reading
#  2. a drop canceled while it waits leaves the index invalid but ready: inserts go on, and
#     REINDEX makes it valid with every row
#  3. once a drop finished, the sweep removes its build from the sidecar
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('drop_concurrently', conf => "autovacuum = off\n");
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';

sub make_table
{
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS d;
		CREATE TABLE d (k bigint, v int);
		INSERT INTO d SELECT g, g FROM generate_series(1, 20000) g;
		CREATE INDEX d_k ON d USING alexidx (k);
	});
}

# Starts DROP INDEX CONCURRENTLY d_k in the background and waits until it waits for a lock.
sub start_drop
{
	my (%o) = @_;
	my $drop = $node->background_psql('postgres', on_error_stop => 0);
	$drop->query_safe("SET statement_timeout = '$o{timeout}'") if $o{timeout};
	$drop->query_until(qr/started/, "\\echo started\nDROP INDEX CONCURRENTLY d_k;\n\\echo done\n");
	ok($node->poll_query_until('postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE query LIKE 'DROP INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'}),
		'the drop waits for the open transaction');
	return $drop;
}

# ---- 1. a transaction the drop waits for keeps using the index ----
make_table();
my $user = $node->background_psql('postgres', on_error_stop => 0);
$user->query_safe('BEGIN');
$user->query_safe('INSERT INTO d VALUES (100001, 1)');
$user->query_safe('DECLARE c CURSOR FOR SELECT k FROM d WHERE k > 0 ORDER BY k');
$user->query_safe('FETCH 10 FROM c');
my $drop = start_drop();
my $out = $user->query("$force INSERT INTO d VALUES (100002, 2); "
	  . "SELECT count(*) FROM d WHERE k > 100000");
is($out, '2', 'an insert and an index scan while the drop waits');
is($user->{stderr}, '', 'no error in the transaction the drop waits for');
$user->{stderr} = '';
$out = $user->query('MOVE FORWARD ALL IN c');
is($user->{stderr}, '', 'the cursor opened before the drop reads on');
like($out, qr/MOVE 20\d\d\d|^$/, 'the cursor moved');
$user->query('CLOSE c');
$user->query('COMMIT');
is($user->{stderr}, '', 'the transaction commits');
$user->quit;
$drop->query_until(qr/done/, '');
is($drop->{stderr}, '', 'the drop finishes');
$drop->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'd_k'"), '0',
	'the index is gone');
is($node->safe_psql('postgres', 'SELECT count(*) FROM d WHERE k > 100000'), '2', 'both rows committed');

# ---- 3. the sweep removes the dropped build ----
ax_assert_no_orphans($node, 'after DROP INDEX CONCURRENTLY');

# ---- 2. a canceled drop leaves a working index ----
make_table();
$user = $node->background_psql('postgres', on_error_stop => 0);
$user->query_safe('BEGIN');
$user->query_safe('INSERT INTO d VALUES (200001, 1)');
$drop = start_drop(timeout => '2s');
$drop->query_until(qr/done/, '');
like($drop->{stderr}, qr/canceling statement due to statement timeout/, 'the drop is canceled');
$drop->quit;
$out = $user->query("INSERT INTO d VALUES (200002, 2); COMMIT");
is($user->{stderr}, '', 'the transaction the canceled drop waited for commits');
$user->quit;
is($node->safe_psql('postgres', "SELECT indisvalid::text || indisready::text FROM pg_index WHERE indexrelid = 'd_k'::regclass"),
	'falsetrue', 'the index is left invalid and ready');
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	'INSERT INTO d SELECT g, 0 FROM generate_series(300001, 301000) g');
is($stderr, '', 'inserts into the table go on after the canceled drop');
$node->safe_psql('postgres', 'REINDEX INDEX d_k');
is($node->safe_psql('postgres', "$force SELECT count(*) FROM d WHERE k >= 0"), '21002',
	'after REINDEX the index finds every row');
is($node->safe_psql('postgres', "SELECT alexidx_check('d_k')"), '', 'alexidx_check passes after the REINDEX');
is($node->safe_psql('postgres', "$force EXPLAIN (COSTS OFF) SELECT count(*) FROM d WHERE k >= 0") =~ /d_k/ ? 1 : 0,
	1, 'the count used the index');
($rc, $stdout, $stderr) = $node->psql('postgres', 'DROP INDEX CONCURRENTLY d_k');
is($stderr, '', 'a second drop finishes');
ax_assert_no_orphans($node, 'after the second drop');

$node->stop;
done_testing();
