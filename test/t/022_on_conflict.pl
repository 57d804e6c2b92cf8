# INSERT ... ON CONFLICT inserts a speculative heap tuple, inserts its index entries, and
# kills the tuple when another transaction inserted the conflicting key meanwhile. The killed
# tuple is dead at once: VACUUM may reclaim its TID and a new row may take it while the
# inserting transaction is still open. The alexidx entry for the killed tuple, still in that
# transaction's insert buffer, must never reach the index (issue 10, item 5), or the index
# would send a query for the killed key to the new row.
#
# The race is made deterministic with an expression index that waits on an advisory lock
# for one key: the speculative insertion stops between its heap insert and its unique check.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('on_conflict', conf => "autovacuum = off\n");
ax_create_gate($node);
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int, k bigint);
	INSERT INTO t SELECT g, g FROM generate_series(1, 5) g;
	-- index order is OID order: the gate first, then alexidx, then the arbiter
	CREATE INDEX t_gate ON t (gate(k));
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE UNIQUE INDEX t_id ON t (id);
});

# the conflicting row commits while the speculative insertion waits; it resumes and loses
my ($ctl, $ins) = ax_lose_speculative_race($node, 'INSERT INTO t VALUES (10, 777) ON CONFLICT (id) DO NOTHING',
	'INSERT INTO t VALUES (10, 555)');

# VACUUM reclaims the killed tuple; a new row takes its TID
$ctl->query_safe('VACUUM (INDEX_CLEANUP ON) t');
$ctl->query_safe('INSERT INTO t VALUES (11, 999)');
$ins->query_safe('COMMIT');
$ins->quit;
$ctl->quit;

my $via_index = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT coalesce(string_agg(id || ':' || k, ',' ORDER BY id), '') FROM t WHERE k = 777});
is($via_index, '', 'no row is found through the index for the killed key 777');
my $plan = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	EXPLAIN (costs off) SELECT * FROM t WHERE k = 777});
like($plan, qr/Index Scan using t_ax/, 'that query used the alexidx index');
ax_verify($node, label => 'after the lost ON CONFLICT race', index => 't_ax', expect_count => 7);
$node->stop;
done_testing();
