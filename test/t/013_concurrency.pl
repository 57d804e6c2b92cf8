# Concurrency: 8 clients mix inserts, key-changing and HOT updates, deletes, point and range
# queries and VACUUMs on two identical tables, one indexed with alexidx and one with btree.
# Every writing transaction applies the same change to both tables, so within one snapshot
# they must always agree; clients check that online (any mismatch is printed). Autovacuum runs
# often. A third of the range queries run as parallel index scans. Bounded: 8 x 1500
# transactions and 25 seconds. Then VACUUM, and a set of range queries (serial and parallel)
# must return exactly the same rows from both tables.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $KEYS = 20000;
my $node = ax_node('concurrency', conf => "autovacuum_naptime = 1s\nautovacuum_vacuum_threshold = 100\n"
	  . "autovacuum_vacuum_scale_factor = 0.01\ndeadlock_timeout = 100ms\n");
$node->safe_psql('postgres', qq{
	CREATE TABLE t_ax (k bigint, v bigint);
	CREATE TABLE t_bt (k bigint, v bigint);
	INSERT INTO t_ax SELECT g, g FROM generate_series(1, $KEYS, 2) g;
	INSERT INTO t_bt SELECT * FROM t_ax;
	CREATE INDEX t_ax_k ON t_ax USING alexidx (k);
	CREATE INDEX t_bt_k ON t_bt USING btree (k);
});

# One client's script. Every write is one statement that changes both tables (a writable CTE),
# so both sides see the same snapshot (two statements in READ COMMITTED would not: a row
# committed in between would be changed in one table only). Queries force the alexidx index.
sub both { my ($ax, $bt) = @_; return "WITH a AS ($ax) $bt"; }
sub script
{
	my ($client, $ntx) = @_;
	my $seed = $client * 104729 + 7;
	my $rand = sub { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed % $_[0]; };
	my $sql = "SET enable_seqscan = off;\n" . ax_parallel_settings() . "\n"
	  . "SET alexidx.insert_buffer = " . (1, 8, 64, 1000)[ $client % 4 ] . ";\n";
	for my $i (1 .. $ntx)
	{
		my $op = $rand->(100);
		my $k = 1 + $rand->($KEYS);
		my $v = $rand->(1_000_000);
		if ($op < 25)
		{
			$sql .= "BEGIN; " . both("INSERT INTO t_ax VALUES ($k, $v)", "INSERT INTO t_bt VALUES ($k, $v)") . "; "
			  . both("INSERT INTO t_ax VALUES ($k + 1, $v)", "INSERT INTO t_bt VALUES ($k + 1, $v)") . "; COMMIT;\n";
		}
		elsif ($op < 35)
		{
			my $n = 1 + $rand->(20);
			$sql .= both("INSERT INTO t_ax SELECT $k + g, $v FROM generate_series(1, $n) g",
				"INSERT INTO t_bt SELECT $k + g, $v FROM generate_series(1, $n) g") . ";\n";
		}
		elsif ($op < 45)
		{
			# HOT-eligible: the key does not change
			$sql .= both("UPDATE t_ax SET v = v + 1 WHERE k = $k", "UPDATE t_bt SET v = v + 1 WHERE k = $k") . ";\n";
		}
		elsif ($op < 55)
		{
			my $k2 = 1 + $rand->($KEYS);
			$sql .= both("UPDATE t_ax SET k = $k2 WHERE k = $k", "UPDATE t_bt SET k = $k2 WHERE k = $k") . ";\n";
		}
		elsif ($op < 65)
		{
			my $w = $rand->(50);
			$sql .= both("DELETE FROM t_ax WHERE k BETWEEN $k AND $k + $w", "DELETE FROM t_bt WHERE k BETWEEN $k AND $k + $w") . ";\n";
		}
		elsif ($op < 67)
		{
			$sql .= "BEGIN; " . both("INSERT INTO t_ax VALUES ($k, -1)", "INSERT INTO t_bt VALUES ($k, -1)") . "; ROLLBACK;\n";
		}
		elsif ($op < 68)
		{
			$sql .= "VACUUM t_ax;\n";
		}
		elsif ($op < 84)
		{
			$sql .= "SELECT 'MISMATCH point $k ' || a || ' ' || b FROM (SELECT "
			  . "(SELECT count(*) || '/' || coalesce(sum(v), 0) FROM t_ax WHERE k = $k) a, "
			  . "(SELECT count(*) || '/' || coalesce(sum(v), 0) FROM t_bt WHERE k = $k) b) s WHERE a <> b;\n";
		}
		else
		{
			my $w = $rand->(2000);
			# an index scan, a bitmap scan, or a parallel index scan whose workers take their
			# chunks while the other clients change the same keys
			my $how = $rand->(3);
			my $set = $how == 0 ? 'SET enable_bitmapscan = on; SET max_parallel_workers_per_gather = 0;'
			  : $how == 1 ? 'SET enable_bitmapscan = off; SET max_parallel_workers_per_gather = 0;'
			  : 'SET enable_bitmapscan = off; SET max_parallel_workers_per_gather = 2;';
			$sql .= "$set SELECT 'MISMATCH range $k $w ' || a || ' ' || b FROM (SELECT "
			  . "(SELECT count(*) || '/' || coalesce(sum(v), 0) || '/' || coalesce(sum(k), 0) FROM t_ax WHERE k BETWEEN $k AND $k + $w) a, "
			  . "(SELECT count(*) || '/' || coalesce(sum(v), 0) || '/' || coalesce(sum(k), 0) FROM t_bt WHERE k BETWEEN $k AND $k + $w) b) s WHERE a <> b;\n";
		}
	}
	return $sql . "\\echo FINISHED\n";
}

my @clients = map { ax_bg($node, 'postgres', "client$_", script($_, 1500)) } 0 .. 7;
my ($finished, $errors, $mismatches, $killed) = (0, 0, 0, 0);
for my $c (@clients)
{
	my ($rc, $out, $err) = ax_bg_finish($c, 25 - (time() - $clients[0]{start}));
	$killed++ if $rc == -1;
	$finished++ if $out =~ /FINISHED/;
	my @m = grep { /MISMATCH/ } split /\n/, $out;
	$mismatches += @m;
	diag("$c->{name}: $m[0]") if @m;
	# a client stopped by the time bound may be cut mid-statement: that is not an error
	my @e = grep { /ERROR|FATAL|PANIC|deadlock|terminated/ } split /\n/, $err;
	$errors += @e;
	diag("$c->{name}: $e[0]") if @e;
}
diag("concurrency: $finished of 8 clients ran all 1500 transactions, $killed stopped by the 25 s bound");
is($errors, 0, 'no client saw an error, deadlock or crash');
is($mismatches, 0, 'alexidx and btree always agreed within a snapshot');
ok($node->safe_psql('postgres', 'SELECT 1') eq '1', 'the server is up');
ok(!$node->log_contains(qr/PANIC|terminated by signal|server process .* was terminated/),
	'no server process crashed');

# Quiesce autovacuum (its snapshots could keep dead tuples), then VACUUM both tables.
$node->safe_psql('postgres', 'ALTER TABLE t_ax SET (autovacuum_enabled = off); ALTER TABLE t_bt SET (autovacuum_enabled = off);');
ax_poll(30, 0.2, sub { $node->safe_psql('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") eq 't' });
my ($vret, $vout, $verr) = $node->psql('postgres', 'VACUUM (VERBOSE, INDEX_CLEANUP ON) t_ax');
my ($notyet) = $verr =~ /(\d+) are dead but not yet removable/;
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t_bt');
$node->safe_psql('postgres', 'VACUUM t_bt');
SKIP:
{
	skip "VACUUM could not remove $notyet dead tuples", 1 if $notyet;
	is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('t_ax_k')"), $rows,
		'after VACUUM the alexidx index holds exactly one entry per live row');
}

# range queries, all in one statement per scan kind: how many differ between the two tables
my $ranges = join(', ', "(-9223372036854775808, 9223372036854775807)",
	map { '(' . ($_ * 997 % $KEYS) . ', ' . ($_ * 997 % $KEYS + $_ * 13) . ')' } 1 .. 40);
for my $how ('index', 'bitmap')
{
	my $set = 'SET max_parallel_workers_per_gather = 0; '
	  . ($how eq 'index' ? 'SET enable_seqscan = off; SET enable_bitmapscan = off;'
	  : 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off;');
	my $agg = "SELECT coalesce(string_agg(k || ':' || v, ',' ORDER BY k, v), '') FROM %s WHERE k BETWEEN r.lo AND r.hi";
	my $plan = $node->safe_psql('postgres', "$set EXPLAIN (costs off) SELECT (" . sprintf($agg, 't_ax')
		  . ") FROM (VALUES $ranges) r(lo, hi)");
	like($plan, $how eq 'index' ? qr/Index Scan using t_ax_k/ : qr/Bitmap Index Scan on t_ax_k/,
		"range queries use the alexidx index ($how)");
	my $diff = $node->safe_psql('postgres', "$set SELECT count(*) FILTER (WHERE ("
		  . sprintf($agg, 't_ax') . ") IS DISTINCT FROM (" . sprintf($agg, 't_bt') . ")) || '/' || count(*)"
		  . " FROM (VALUES $ranges) r(lo, hi)");
	is($diff, '0/41', "after VACUUM, 41 range queries return exactly the same rows from alexidx and btree ($how scan)");
}
# the same through a parallel index scan that only the workers run
{
	my $par = 'SET enable_seqscan = off; SET enable_bitmapscan = off; ' . ax_parallel_settings()
	  . ' SET parallel_leader_participation = off; SET max_parallel_workers_per_gather = 2;';
	my $q = "SELECT count(*) || '/' || coalesce(sum(v), 0) || '/' || coalesce(sum(k), 0) FROM %s WHERE k BETWEEN %d AND %d";
	my $plan = $node->safe_psql('postgres', "$par EXPLAIN (analyze, costs off, timing off, summary off) "
		  . sprintf($q, 't_ax', 0, $KEYS));
	like($plan, qr/Workers Launched: 2.*Parallel Index Scan using t_ax_k/s, 'the workers run a parallel scan of the alexidx index');
	my $same = 0;
	for my $r ([ 0, $KEYS * 2 ], map { [ $_ * 997 % $KEYS, $_ * 997 % $KEYS + $_ * 113 ] } 1 .. 9)
	{
		$same++ if $node->safe_psql('postgres', "$par " . sprintf($q, 't_ax', @$r))
		  eq $node->safe_psql('postgres', 'SET max_parallel_workers_per_gather = 0; ' . sprintf($q, 't_bt', @$r));
	}
	is($same, 10, 'after VACUUM, 10 parallel range scans of alexidx equal btree');
}
ax_verify($node, label => 'concurrency', table => 't_ax', index => 't_ax_k', expect_count => $rows);

$node->stop;
done_testing();
