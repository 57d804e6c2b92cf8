# Two-phase commit: a prepared transaction's index entries are flushed at PREPARE, so its
# rows are found through the index once COMMIT PREPARED runs, even after a crash between the
# two; a ROLLBACK PREPARED leaves entries that VACUUM removes with their heap tuples (no
# entry may outlive its tuple). DDL in a prepared transaction (CREATE INDEX, DROP INDEX)
# settles whichever way it ends: the build stays with the committed index, and the sweep
# takes the others.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('two_phase', conf => "max_prepared_transactions = 10\nautovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, 0 FROM generate_series(1, 10000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE TABLE d (k bigint);
	INSERT INTO d SELECT g FROM generate_series(1, 1000) g;
	CREATE INDEX d_ax ON d USING alexidx (k);
	CREATE TABLE e (k bigint);
	INSERT INTO e SELECT g FROM generate_series(1, 1000) g;
});
my $count = 10000;

# Buffered inserts (the default buffer and a large one), prepared, then a crash.
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO t SELECT g, 1 FROM generate_series(20001, 23000) g;
	PREPARE TRANSACTION 'ins_commit';
	SET alexidx.insert_buffer = 1000000;
	BEGIN;
	INSERT INTO t SELECT g, 2 FROM generate_series(30001, 32000) g;
	PREPARE TRANSACTION 'ins_commit_big';
	BEGIN;
	INSERT INTO t SELECT g, 3 FROM generate_series(40001, 45000) g;
	PREPARE TRANSACTION 'ins_rollback';
});
# and DDL: a prepared CREATE INDEX of each outcome, a prepared DROP INDEX
$node->safe_psql('postgres', q{
	BEGIN;
	CREATE INDEX e_ax ON e USING alexidx (k);
	PREPARE TRANSACTION 'create_commit';
});
$node->safe_psql('postgres', q{
	CREATE TABLE f (k bigint);
	INSERT INTO f SELECT g FROM generate_series(1, 1000) g;
	BEGIN;
	CREATE INDEX f_ax ON f USING alexidx (k);
	PREPARE TRANSACTION 'create_rollback';
});
$node->safe_psql('postgres', q{
	BEGIN;
	DROP INDEX d_ax;
	PREPARE TRANSACTION 'drop_commit';
});
ax_crash($node);
$node->start;

is($node->safe_psql('postgres', 'SELECT string_agg(gid, \',\' ORDER BY gid) FROM pg_prepared_xacts'),
	'create_commit,create_rollback,drop_commit,ins_commit,ins_commit_big,ins_rollback',
	'every prepared transaction survives the crash');
$node->safe_psql('postgres', q{
	COMMIT PREPARED 'ins_commit';
	COMMIT PREPARED 'ins_commit_big';
	ROLLBACK PREPARED 'ins_rollback';
	COMMIT PREPARED 'create_commit';
	ROLLBACK PREPARED 'create_rollback';
	COMMIT PREPARED 'drop_commit';
});
$count += 3000 + 2000;
ax_verify($node, label => 'after COMMIT PREPARED across a crash', expect_count => $count);
my $forced = 'SET enable_seqscan = off; SET enable_bitmapscan = off; ';
is($node->safe_psql('postgres', $forced . 'SELECT count(*) FROM t WHERE k BETWEEN 20001 AND 45000'),
	'5000', 'the committed prepared rows are found through the index, the rolled-back ones are not');

# The rolled-back rows' entries go with their tuples at VACUUM.
$node->safe_psql('postgres', 'VACUUM t');
is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('t_ax')"), $count,
	'after VACUUM the index holds exactly the live rows');

# DDL outcomes: e_ax exists and answers; f_ax and d_ax are gone, and the sweep leaves the
# sidecar with exactly the live indexes' builds.
ax_verify($node, table => 'e', index => 'e_ax', label => 'index from a committed prepared CREATE INDEX',
	expect_count => 1000);
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_class WHERE relname IN ('f_ax', 'd_ax')"), '0',
	'the rolled-back CREATE INDEX and the committed DROP INDEX left no index');
ax_assert_no_orphans($node, 'after the prepared DDL settled');

# The same without a crash in between, with inserts into an index a prepared DROP INDEX then
# keeps (rolled back).
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO e SELECT g FROM generate_series(5001, 5500) g;
	DROP INDEX e_ax;
	PREPARE TRANSACTION 'drop_rollback';
	ROLLBACK PREPARED 'drop_rollback';
	BEGIN;
	INSERT INTO e SELECT g FROM generate_series(6001, 6300) g;
	PREPARE TRANSACTION 'ins_e';
	COMMIT PREPARED 'ins_e';
});
ax_verify($node, table => 'e', index => 'e_ax', label => 'after a rolled-back prepared DROP INDEX',
	expect_count => 1300);
$node->restart;
ax_verify($node, table => 'e', index => 'e_ax', label => 'after a restart', expect_count => 1300);
ax_verify($node, label => 't after a restart', expect_count => $count);

$node->stop;
done_testing();
