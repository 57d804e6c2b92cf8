# Exclusion constraints on alexidx indexes under concurrency: EXCLUDE USING alexidx (k WITH =)
# keeps a key unique when transactions insert it at the same time. PostgreSQL's protocol: each
# inserter puts its entry into the index, then scans the index (dirty snapshot) for a conflict
# and waits for an inserter still in progress. It holds only if an entry aminsert buffered is in
# the shared tree before that scan; otherwise two inserters could miss each other.
#  1. a second inserter of a key waits for the first: it fails if the first commits and goes
#     through if the first rolls back (regress 16_exclusion has the single-session cases)
#  2. 6 clients insert keys from one small set at once, with several insert buffer sizes: no
#     key is ever in the table twice, and the index equals a seq scan
#  3. INSERT ... ON CONFLICT DO NOTHING whose arbiter is the alexidx exclusion constraint and
#     which loses the race: its entry reached the index while the insertion was undecided (the
#     constraint's check needs it there), and VACUUM must remove it before the TID of the
#     killed tuple goes to another row (made deterministic with an expression index that
#     waits on an advisory lock, as in 022_on_conflict)
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('exclusion', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, who text, EXCLUDE USING alexidx (k WITH =));
	INSERT INTO t SELECT g, 'load' FROM generate_series(1, 1000) g;
});
my $index = $node->safe_psql('postgres', "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 't'::regclass");

# ---- 1. the second inserter waits for the first ----
for my $end ('COMMIT', 'ROLLBACK')
{
	my $key = $end eq 'COMMIT' ? 5001 : 5002;
	my $first = $node->background_psql('postgres');
	$first->query_safe('BEGIN');
	$first->query_safe("INSERT INTO t VALUES ($key, 'first')");
	my $second = $node->background_psql('postgres', on_error_stop => 0);
	$second->query_until(qr/started/, "\\echo started\nINSERT INTO t VALUES ($key, 'second');\n\\echo done\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"),
		"$end: the second inserter of key $key waits for the first");
	$first->query_safe($end);
	$first->quit;
	$second->query_until(qr/done/, '');
	my $err = $second->{stderr};
	$second->quit;
	if ($end eq 'COMMIT')
	{
		like($err, qr/conflicting key value violates exclusion constraint/,
			'COMMIT: the second inserter fails with the exclusion violation');
		is($node->safe_psql('postgres', "SELECT string_agg(who, ',') FROM t WHERE k = $key"), 'first',
			'COMMIT: only the first row is there');
	}
	else
	{
		unlike($err, qr/ERROR/, 'ROLLBACK: the second inserter goes through');
		is($node->safe_psql('postgres', "SELECT string_agg(who, ',') FROM t WHERE k = $key"), 'second',
			'ROLLBACK: only the second row is there');
	}
}

# ---- 2. many inserters of the same keys at once ----
# Each client inserts keys from 10000..10299 in its own order, one statement per key (some in
# multi-row transactions that roll back), each statement in a block that swallows the
# exclusion violation so the client goes on.
sub script
{
	my ($client, $n) = @_;
	my $seed = $client * 7919 + 17;
	my $rand = sub { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed % $_[0]; };
	my $sql = 'SET alexidx.insert_buffer = ' . (1, 16, 65536)[ $client % 3 ] . ";\n";
	for my $i (1 .. $n)
	{
		my $k = 10000 + $rand->(300);
		my $stmt = $rand->(5) == 0
		  ? "INSERT INTO t VALUES ($k, 'c$client') ON CONFLICT DO NOTHING"
		  : "BEGIN INSERT INTO t VALUES ($k, 'c$client'); EXCEPTION WHEN exclusion_violation THEN NULL; END";
		$sql .= $stmt =~ /^BEGIN/ ? "DO \$\$ $stmt \$\$;\n" : "$stmt;\n";
	}
	return $sql . "\\echo FINISHED\n";
}
my @clients = map { ax_bg($node, 'postgres', "x$_", script($_, 400)) } 0 .. 5;
my ($finished, $errors) = (0, 0);
for my $c (@clients)
{
	my ($rc, $out, $err) = ax_bg_finish($c, 120);
	$finished++ if $out =~ /FINISHED/;
	$errors++ if $err =~ /ERROR|FATAL|PANIC/;
	diag("$c->{name}: $err") if $err =~ /ERROR|FATAL|PANIC/;
}
is($finished, 6, 'all 6 clients ran all their inserts');
is($errors, 0, 'no client saw an error but the violations it expected');
is($node->safe_psql('postgres', q{
	SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
	SELECT count(*) FROM (SELECT k FROM t GROUP BY k HAVING count(*) > 1) d}), '0',
	'no key is in the table twice (seq scan)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE k BETWEEN 10000 AND 10299'), '300',
	'every contested key was inserted once');
ax_verify($node, label => 'exclusion', table => 't', index => $index);

# ---- 3. a speculative insertion that loses, after its entry reached the index ----
ax_create_gate($node);
$node->safe_psql('postgres', q{
	CREATE TABLE u (id int, k bigint);
	INSERT INTO u SELECT g, g FROM generate_series(1, 5) g;
	-- index order is OID order: the gate first, then the constraint's alexidx index
	CREATE INDEX u_gate ON u (gate(k));
	ALTER TABLE u ADD CONSTRAINT u_k_excl EXCLUDE USING alexidx (k WITH =);
});
my ($ctl, $ins) = ax_lose_speculative_race($node, 'INSERT INTO u VALUES (10, 777) ON CONFLICT DO NOTHING',
	'INSERT INTO u VALUES (11, 777)');
$ctl->query_safe('VACUUM (INDEX_CLEANUP ON) u');
$ctl->query_safe('INSERT INTO u VALUES (12, 999)');
$ins->query_safe('COMMIT');
$ins->quit;
$ctl->quit;
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
like($node->safe_psql('postgres', "$force EXPLAIN (costs off) SELECT id FROM u WHERE k = 777"),
	qr/Index Scan using u_k_excl/, 'the lookups use the alexidx index');
is($node->safe_psql('postgres', "$force SELECT string_agg(id::text, ',' ORDER BY id) FROM u WHERE k = 777"), '11',
	'key 777 finds only the row that won');
is($node->safe_psql('postgres', "$force SELECT string_agg(id::text, ',' ORDER BY id) FROM u WHERE k = 999"), '12',
	'the row inserted after VACUUM is found by its own key');
ax_verify($node, label => 'after the lost race', table => 'u', index => 'u_k_excl', expect_count => 7);
$node->stop;
done_testing();
