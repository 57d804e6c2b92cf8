# Index-only scans on a hot standby. Such a scan copies a chunk of entries and returns them one
# by one, trusting the visibility map for each. On the primary VACUUM waits for scans holding
# entries it removes (scan pins, 025). On a standby the sidecar worker takes VACUUM's removals
# out of the trees, after the startup process replayed them, and the heap's replay then frees
# the TIDs and marks the pages all-visible: a scan still holding a removed entry would return a
# deleted row's key. So the replay of the primary's VACUUM_DONE record (after each index's
# removals, before the heap's) waits until the worker has applied them and no scan holds an
# entry from before, as btree's replay waits for the cleanup lock on a leaf page that a scan
# holds pinned; after max_standby_streaming_delay it cancels those scans instead.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\n");
$primary->safe_psql('postgres', q{
	CREATE TABLE t (k bigint);
	-- key 1 on the first heap page, the keys deleted below on the second: the cursors' first
	-- row needs no heap page (and no buffer pin, which the replay of the heap's pruning would
	-- wait for first, as it would for btree)
	INSERT INTO t VALUES (1);
	INSERT INTO t SELECT g FROM generate_series(1001, 1300) g;
	INSERT INTO t SELECT g FROM generate_series(2, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	VACUUM t;                             -- every page all-visible
});
my $standby = ax_standby($primary, 'standby', "max_standby_streaming_delay = -1\n");
$primary->wait_for_catchup($standby, 'replay');

my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
my $seq = 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;';
like($standby->safe_psql('postgres', "$force EXPLAIN (costs off) SELECT count(*) FROM t WHERE k BETWEEN 1 AND 100"),
	qr/Index Only Scan using t_ax/, 'the standby plans an index-only scan');
is($standby->safe_psql('postgres', "$force SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 500"),
	$primary->safe_psql('postgres', "$seq SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 500"),
	'it counts the rows the primary has');
is($primary->safe_psql('postgres', q{SELECT string_agg(DISTINCT (ctid::text::point)[0]::text, ',')
	FROM t WHERE k = 1 OR k BETWEEN 2 AND 60}), '0,1', 'key 1 is on page 0, keys 2..60 on page 1');

# rows 2..50 deleted before the standby's cursor starts: dead to its snapshot
$primary->safe_psql('postgres', 'DELETE FROM t WHERE k BETWEEN 2 AND 50');
$primary->wait_for_catchup($standby, 'replay');
my $scan = $standby->background_psql('postgres');
$scan->query_safe($force);
$scan->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT k FROM t WHERE k BETWEEN 1 AND 100 ORDER BY k');
is($scan->query_safe('FETCH 1 FROM c'), '1', 'the cursor returned its first row and holds the next entries');

# VACUUM removes the entries, frees the TIDs and marks the page all-visible again
$primary->safe_psql('postgres', 'VACUUM t');
my $target = $primary->lsn('insert');
ok($standby->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'startup' AND wait_event_type = 'Extension'}),
	'the replay of the VACUUM waits for the cursor');
sleep(1);
is($standby->safe_psql('postgres', "SELECT pg_last_wal_replay_lsn() < '$target'"), 't',
	'and has not replayed the heap\'s part of it');
is(join(',', split /\n/, $scan->query_safe('FETCH ALL FROM c')), join(',', 51 .. 100),
	'the cursor returns no key of a deleted row');
$scan->query_safe('COMMIT');
$primary->wait_for_catchup($standby, 'replay');
pass('once the cursor is closed the replay goes on');
is($standby->safe_psql('postgres', "$force SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 2000"),
	$primary->safe_psql('postgres', "$seq SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 2000"),
	'after the VACUUM the standby\'s index-only scan agrees with the primary');

# With a delay limit, the replay cancels the scans that hold it up instead of waiting on.
$standby->append_conf('postgresql.conf', "max_standby_streaming_delay = 1s\n");
$standby->reload;
$primary->safe_psql('postgres', 'DELETE FROM t WHERE k BETWEEN 52 AND 60');
$primary->wait_for_catchup($standby, 'replay');
$scan = $standby->background_psql('postgres');
$scan->query_safe($force);
$scan->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT k FROM t WHERE k BETWEEN 1 AND 100 ORDER BY k');
is($scan->query_safe('FETCH 1 FROM c'), '1', 'a second cursor holds entries');
$primary->safe_psql('postgres', 'VACUUM t');
# (up to the VACUUM's last record, which may not be written out yet)
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
pass('the replay went on past the delay limit');
# (the session was idle in its transaction: PostgreSQL ends such a session on a conflict)
like(slurp_file($standby->logfile), qr/terminating connection due to conflict with recovery/,
	'and the cursor\'s session was ended');
eval { $scan->quit };
like($standby->safe_psql('postgres', q{SELECT confl_snapshot FROM pg_stat_database_conflicts
	WHERE datname = 'postgres'}), qr/^[1-9]/, 'counted as a recovery conflict');
is($standby->safe_psql('postgres', "$force SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 2000"),
	$primary->safe_psql('postgres', "$seq SELECT count(*), sum(k) FROM t WHERE k BETWEEN 1 AND 2000"),
	'the standby\'s index-only scan agrees with the primary');


# The race between a scan's next chunk and the replay of a VACUUM: the scan reads where the
# replay is and waits for the worker to get there, the VACUUM's removals are replayed after
# that point, and the worker is slow to apply them. The scan's pin must already count for the
# VACUUM's replay then, or the replay goes on and the chunk has the removed entries.
$standby->append_conf('postgresql.conf', "max_standby_streaming_delay = -1\n");
$standby->reload;
$primary->safe_psql('postgres', q{
	CREATE TABLE r (k bigint);
	-- keys 1..32 (the first chunk) on heap page 0, 33..39 on page 1, the keys deleted below
	-- on page 3: the next chunk's first row needs no heap page (no buffer pin, which the
	-- replay of the heap's pruning would wait for first)
	INSERT INTO r SELECT g FROM generate_series(1, 32) g;
	INSERT INTO r SELECT g FROM generate_series(1001, 1400) g;
	INSERT INTO r SELECT g FROM generate_series(33, 39) g;
	INSERT INTO r SELECT g FROM generate_series(2001, 2300) g;
	INSERT INTO r SELECT g FROM generate_series(40, 999) g;
	CREATE INDEX r_ax ON r USING alexidx (k);
	VACUUM r;
	CREATE TABLE other (pad text);
});
is($primary->safe_psql('postgres', q{SELECT string_agg(DISTINCT (ctid::text::point)[0]::text, ',')
	FROM r WHERE k BETWEEN 33 AND 39}) . ' ' . $primary->safe_psql('postgres',
	q{SELECT min((ctid::text::point)[0]) FROM r WHERE k BETWEEN 40 AND 80}), '1 3',
	'keys 33..39 are on page 1, the deleted ones from page 3 on');
$primary->safe_psql('postgres', 'DELETE FROM r WHERE k BETWEEN 40 AND 80');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
$scan = $standby->background_psql('postgres');
$scan->query_safe($force);
$scan->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT k FROM r WHERE k < 200 ORDER BY k');
is(join(',', split /\n/, $scan->query_safe('FETCH 32 FROM c')), join(',', 1 .. 32), 'the cursor used up its first chunk');
# the worker stops following; the replay goes on a little, then pauses
$standby->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = on\n");
$standby->reload;
$primary->safe_psql('postgres', "INSERT INTO other VALUES ('x')");
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
# more than the worker applies in one round (16 MB), then the VACUUM
$primary->safe_psql('postgres', "INSERT INTO other SELECT repeat('y', 2000) FROM generate_series(1, 20000)");
$primary->safe_psql('postgres', 'VACUUM r');
my $target2 = $primary->lsn('insert');
# the next chunk: the scan reads where the replay is, and may wait for the worker
$scan->{stdin} .= "FETCH 1 FROM c;\n";
$scan->{run}->pump_nb();
sleep(1);
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
sleep(1);
$standby->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = off\n");
$standby->reload;
my $t0 = time;
while ($scan->{stdout} !~ /^33$/m && time - $t0 < 120)
{
	$scan->{run}->pump_nb();
	select(undef, undef, undef, 0.1);
}
like($scan->{stdout}, qr/^33$/m, 'the next chunk begins at key 33');
$scan->{stdout} = '';
ok($standby->poll_query_until('postgres', qq{SELECT pg_last_wal_replay_lsn() >= '$target2' OR
	EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'startup' AND wait_event_type = 'Extension')}),
	'the replay passed the VACUUM or waits for the cursor');
is(join(',', split /\n/, $scan->query_safe('FETCH ALL FROM c')), join(',', 34 .. 39, 81 .. 199),
	'the cursor returns no key of a row the VACUUM removed');
$scan->query_safe('COMMIT');
$scan->quit;
$primary->wait_for_catchup($standby, 'replay', $target2);
pass('the replay went on');

# A cursor that holds the replay of a VACUUM up and then waits for a lock the replay holds (one
# the primary took): neither would ever go on. After deadlock_timeout the replay cancels it.
$primary->safe_psql('postgres', 'CREATE TABLE x (a int); DELETE FROM t WHERE k BETWEEN 61 AND 70');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
$scan = $standby->background_psql('postgres', on_error_stop => 0);
$scan->query_safe($force);
$scan->query_safe('BEGIN; DECLARE c CURSOR FOR SELECT k FROM t WHERE k BETWEEN 1 AND 100 ORDER BY k');
is($scan->query_safe('FETCH 1 FROM c'), '1', 'a cursor holds entries');
my $locker = $primary->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE x IN ACCESS EXCLUSIVE MODE');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
$scan->{stdin} .= "SELECT count(*) FROM x;\n";
$scan->{run}->pump_nb();
ok($standby->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = 'SELECT count(*) FROM x;' AND wait_event_type = 'Lock'}),
	'the cursor\'s session waits for the lock the replay holds');
$primary->safe_psql('postgres', 'VACUUM t');
my $target3 = $primary->lsn('insert');
$t0 = time;
while ($scan->{stderr} !~ /conflict with recovery/ && time - $t0 < 120)
{
	$scan->{run}->pump_nb();
	select(undef, undef, undef, 0.1);
}
like($scan->{stderr}, qr/conflict with recovery/, 'the replay cancels it after deadlock_timeout');
$locker->query_safe('COMMIT');
$locker->quit;
$primary->wait_for_catchup($standby, 'replay', $target3);
pass('and goes on');
eval { $scan->quit };

$standby->stop;
$primary->stop;
done_testing();
