# INSERT ... ON CONFLICT inserts a speculative heap tuple, inserts its index entries, and
# kills the tuple when another transaction inserted the conflicting key meanwhile. The killed
# tuple is dead at once: VACUUM may reclaim its TID and a new row may take it while the
# inserting transaction is still open. The alexidx entry for the killed tuple, still in that
# transaction's insert buffer, must never reach the index (issue 10, item 5), or the index
# would send a query for the killed key to the new row.
#
# The race is made deterministic with an expression index that waits on an advisory lock
# for one key: the speculative insertion stops between its heap insert and its unique check.
# The last two cases have the same command's next row take the killed tuple's TID without an
# entry of its own: it fails a partial index's predicate, or it is a heap-only tuple (a HOT
# update by DO UPDATE).
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

# The same command's next row takes the killed tuple's TID without an entry of its own in the
# index: it fails a partial index's predicate. The killed key must not reach that row either.
$node->safe_psql('postgres', q{
	CREATE TABLE p (id int, k bigint, flag bool);
	CREATE INDEX p_gate ON p (gate(k));
	CREATE INDEX p_ax ON p USING alexidx (k) WHERE flag;
	CREATE UNIQUE INDEX p_id ON p (id);
	-- holds the command between its rows
	CREATE FUNCTION pause_at(id int) RETURNS int LANGUAGE plpgsql AS $$
	BEGIN
	  IF id = 12 THEN
	    PERFORM pg_advisory_lock_shared(2);
	    PERFORM pg_advisory_unlock_shared(2);
	  END IF;
	  RETURN id;
	END $$;
});
# Runs $insert (two rows: the first, key 777, loses its ON CONFLICT race to $winner; the
# second waits in pause_at) in an open transaction, VACUUMs $table while the second row waits,
# lets it go on, and returns whether it took the TID $tid of the killed first row.
sub second_row_takes_killed_tid
{
	my ($what, $table, $insert, $winner, $tid) = @_;
	my ($ctl, $ins) = ax_lose_speculative_race($node, $insert, $winner, paused => 1,
		what => "$what: the first row");
	$ctl->query_safe("VACUUM (INDEX_CLEANUP ON) $table");
	$ctl->query_safe('SELECT pg_advisory_unlock(2)');
	my $took = $ins->query_safe("SELECT ctid = '$tid' FROM $table WHERE id = 12");
	$ins->query_safe('COMMIT');
	$ins->quit;
	$ctl->quit;
	return $took;
}
is(second_row_takes_killed_tid('partial', 'p', q{INSERT INTO p
	SELECT pause_at(id), k, flag FROM (VALUES (10, 777, true), (12, 888, false)) v(id, k, flag)
	ON CONFLICT (id) DO NOTHING}, 'INSERT INTO p VALUES (10, 555, true)', '(0,1)'), 't',
	'the second row took the killed tuple\'s TID');
my $partial = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT coalesce(string_agg(id || ':' || k, ','), '') FROM p WHERE k = 777 AND flag});
is($partial, '', 'no row is found through the partial index for the killed key 777');
like($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	EXPLAIN (costs off) SELECT * FROM p WHERE k = 777 AND flag}), qr/Index Scan using p_ax/,
	'that query used the alexidx index');
my ($rc, $stdout, $stderr) = $node->psql('postgres', "SELECT alexidx_check('p_ax')");
is($rc, 0, "alexidx_check passes on the partial index $stderr");

# Or it is a HOT update by DO UPDATE: a heap-only tuple, which no index entry may point to.
$node->safe_psql('postgres', q{
	CREATE TABLE h (id int, k bigint, note text) WITH (fillfactor = 50);
	INSERT INTO h VALUES (12, 888, 'a');
	CREATE INDEX h_gate ON h (gate(k));
	CREATE INDEX h_ax ON h USING alexidx (k);
	CREATE UNIQUE INDEX h_id ON h (id);
});
is(second_row_takes_killed_tid('DO UPDATE', 'h', q{INSERT INTO h
	SELECT pause_at(id), k, 'b' FROM (VALUES (10, 777), (12, 888)) v(id, k)
	ON CONFLICT (id) DO UPDATE SET note = excluded.note}, q{INSERT INTO h VALUES (10, 555, 'x')},
	'(0,2)'), 't', "the second row's update went to the killed tuple's TID (0,2), after row 12 at (0,1) (heap-only)");
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT coalesce(string_agg(id || ':' || k, ','), '') FROM h WHERE k = 777}), '',
	'no row is found through the index for the killed key 777');
($rc, $stdout, $stderr) = $node->psql('postgres', "SELECT alexidx_check('h_ax')");
is($rc, 0, "alexidx_check passes after the HOT update $stderr");

# The check of a partial index's predicate can come at COMMIT, where no snapshot is active: a
# predicate with functions that are not inlined (SQL with SET, PL/pgSQL) needs one. (The check
# runs once some VACUUM finished after the ON CONFLICT insert: here one of another table.)
$node->safe_psql('postgres', q{
	CREATE FUNCTION keep_sql(k bigint) RETURNS bool LANGUAGE sql IMMUTABLE
	  SET search_path = public AS 'SELECT k > 0';
	CREATE FUNCTION keep_plpgsql(k bigint) RETURNS bool LANGUAGE plpgsql IMMUTABLE
	  AS 'BEGIN RETURN k > 0; END';
	CREATE TABLE q (id int PRIMARY KEY, k bigint);
	CREATE INDEX q_sql ON q USING alexidx (k) WHERE keep_sql(k);
	CREATE INDEX q_plpgsql ON q USING alexidx (k) WHERE keep_plpgsql(k);
	CREATE TABLE other (k bigint);
	CREATE INDEX other_ax ON other USING alexidx (k);
});
for my $i (1 .. 2)
{
	my $s = $node->background_psql('postgres');
	$s->query_safe("BEGIN; INSERT INTO q VALUES ($i, $i) ON CONFLICT DO NOTHING");
	$node->safe_psql('postgres', "INSERT INTO other VALUES ($i); DELETE FROM other; VACUUM other");
	my ($out, $ret) = $s->query('COMMIT');
	is($s->{stderr}, '', "COMMIT checks the partial indexes' predicates (round $i)");
	$s->quit;
}
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM q WHERE k > 0 AND keep_sql(k)}), '2', 'the rows are found through q_sql');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM q WHERE k > 0 AND keep_plpgsql(k)}), '2', 'and through q_plpgsql');
$node->stop;
done_testing();
