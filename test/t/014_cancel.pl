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

# pg_terminate_backend while CREATE INDEX waits for its SST threads: a FATAL exit frees the
# build's memory without passing through the build's error handling, and the threads must
# be stopped before that memory goes (they read it). A watcher inside the server fires the
# moment the phase begins; the threads have most of a 1M-entry file left to write then.
$node->safe_psql('postgres', q{
	CREATE TABLE huge (k bigint);
	INSERT INTO huge SELECT (g::bigint * 7919) % 10000019 FROM generate_series(1, 1000000) g;
});
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $log_pos = -s $node->logfile;
my $w = ax_bg($node, 'postgres', 'terminator', q{DO $w$
BEGIN
	FOR i IN 1 .. 60000 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF EXISTS (SELECT FROM pg_stat_progress_create_index
				   WHERE phase = 'building index: writing the sidecar') THEN
			PERFORM pg_terminate_backend(pid) FROM pg_stat_progress_create_index;
			RAISE NOTICE 'terminated';
			RETURN;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
END $w$;
});
ax_poll(30, 0.05, sub { $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO %pg_stat_clear_snapshot%' AND pid <> pg_backend_pid()}) eq '1' });
my $victim = ax_bg($node, 'postgres', 'terminated_build', "CREATE INDEX huge_ax ON huge USING alexidx (k);\n");
my (undef, undef, $verr) = ax_bg_finish($victim, 120);
my (undef, undef, $werr) = ax_bg_finish($w, 120);
like($werr, qr/terminated/, 'terminated CREATE INDEX: the watcher saw the SST phase and terminated the backend');
like($verr, qr/terminating connection due to administrator command/,
	'terminated CREATE INDEX: the session ended with FATAL') or diag($verr);
my $log = substr(slurp_file($node->logfile), $log_pos);
unlike($log, qr/terminated by signal|server process .* was terminated|TRAP:|AddressSanitizer/,
	'terminated CREATE INDEX: no server process crashed');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'terminated CREATE INDEX: the server did not restart');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'huge_ax'"), '0',
	'terminated CREATE INDEX: no index');
ax_poll(30, 0.1, sub { !glob($node->data_dir . '/pg_alexidx/pgsql_tmp_ingest/*') });
$node->safe_psql('postgres', 'DROP TABLE huge');

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
