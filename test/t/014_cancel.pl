# Cancellation: statement_timeout and pg_cancel_backend during CREATE INDEX and during a big
# INSERT (small and huge insert buffers) abort cleanly: the session keeps working, the other
# index is intact, and the sidecar keeps no build of an index that does not exist.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $N = 300_000;
my $node = ax_node('cancel', conf => "autovacuum = off\n");
$node->safe_psql('postgres', qq{
	CREATE TABLE big (k bigint, c int);
	INSERT INTO big SELECT (g::bigint * 7919) % 1000003, g FROM generate_series(1, $N) g;
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, 0 FROM generate_series(1, 10000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});

# Runs $sql in the background and cancels it once $ready answers; returns the client's stderr.
sub cancel_during
{
	my ($name, $sql, $ready) = @_;
	my $c = ax_bg($node, 'postgres', $name, $sql . "\n\\echo DONE\n", appname => 'victim');
	my $seen = ax_poll(60, 0.01, sub {
		return 'client ended' unless $c->{h}->pumpable;
		my ($ret, $out) = $node->psql('postgres', $ready);
		return $ret == 0 && $out ne '' ? $out : '';
	});
	$node->safe_psql('postgres', "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'");
	my ($rc, $out, $err) = ax_bg_finish($c, 60);
	diag("$name: cancelled at '$seen': " . ($err =~ /(ERROR:.*)/ ? $1 : 'completed before the cancel'));
	return ($err, $out);
}

# each attempt runs in a session that then checks it still works
my @cases = (
	[ 'timeout_create_index', "SET statement_timeout = '20ms';\nCREATE INDEX big_ax ON big USING alexidx (k);", undef ],
	[ 'cancel_create_index', "CREATE INDEX big_ax ON big USING alexidx (k);",
		q{SELECT phase FROM pg_stat_progress_create_index WHERE phase NOT LIKE $$%initializing$$} ],
	[ 'timeout_insert', "SET statement_timeout = '200ms';\nINSERT INTO t SELECT 1000000 + g, 1 FROM generate_series(1, $N) g;", undef ],
	[ 'cancel_insert_big_buffer', "SET alexidx.insert_buffer = 16000000;\nINSERT INTO t SELECT 1000000 + g, 1 FROM generate_series(1, $N) g;",
		# (a cancel that arrives while a sidecar write is in flight waits for it: cancel while
		# rows are still being buffered)
		q{SELECT 1 FROM pg_stat_activity WHERE application_name = 'victim' AND state = 'active' AND now() - query_start > '50ms'} ],
	[ 'cancel_insert_small_buffer', "SET alexidx.insert_buffer = 1000;\nINSERT INTO t SELECT 1000000 + g, 1 FROM generate_series(1, $N) g;",
		q{SELECT 1 FROM pg_stat_activity WHERE application_name = 'victim' AND state = 'active' AND now() - query_start > '100ms'} ],
);
my $cancelled = 0;
for my $case (@cases)
{
	my ($name, $sql, $ready) = @$case;
	my ($err, $out);
	$sql .= "\nSELECT 'after ' || count(*) FROM t WHERE k < 20000;";
	if ($ready)
	{
		($err, $out) = cancel_during($name, $sql, $ready);
	}
	else
	{
		my $c = ax_bg($node, 'postgres', $name, $sql);
		(undef, $out, $err) = ax_bg_finish($c, 60);
		diag("$name: " . ($err =~ /(ERROR:.*)/ ? $1 : 'completed within the timeout'));
	}
	my $hit = $err =~ /canceling statement due to (statement timeout|user request)/;
	$cancelled++ if $hit;
	# ON_ERROR_STOP ends the script at the error; a completed statement reaches the SELECT
	ok($hit || $out =~ /after 10000/, "$name: cancelled cleanly or completed");
	# the index that was being built or inserted into must not be half there
	my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	ax_verify($node, label => "after $name", expect_count => $n);
	if ($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'big_ax'"))
	{
		ax_verify($node, label => "after $name (completed index)", table => 'big', index => 'big_ax',
			expect_count => $N);
		$node->safe_psql('postgres', 'DROP INDEX big_ax');
	}
	$node->safe_psql('postgres', 'DELETE FROM t WHERE k >= 1000000; VACUUM t;');
}
ok($cancelled >= 3, "at least 3 of 5 statements were really cancelled ($cancelled)");

# the same session goes on after a cancel: a cancelled request left in the worker's hands is
# collected by the next one
my ($ret, $out, $err) = $node->psql('postgres', qq{
	SET statement_timeout = '100ms';
	INSERT INTO t SELECT 2000000 + g, 1 FROM generate_series(1, $N) g;
	RESET statement_timeout;
	INSERT INTO t VALUES (-5, 5);
	SET enable_seqscan = off;
	SELECT count(*) FROM t WHERE k = -5;
}, on_error_stop => 0);
like($out, qr/^1$/m, 'the session that was cancelled keeps using the index') or diag($err);

ax_assert_no_orphans($node, 'after the cancellations');
is($node->safe_psql('postgres', "SELECT count(*) FROM alexidx_sidecar_builds()"), 1,
	'alexidx_sidecar_builds() lists only the surviving index');
my @ingest = glob($node->data_dir . '/pg_alexidx/pgsql_tmp_ingest/*');
is(scalar(@ingest), 0, 'no build file left in pg_alexidx/pgsql_tmp_ingest') or diag("@ingest");
ax_verify($node, label => 'after the cancellations', expect_count => 10001);
$node->stop;
done_testing();
