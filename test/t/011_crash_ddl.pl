# Crashes that land in the middle of index maintenance: during CREATE INDEX, during VACUUM,
# during a large insert-buffer flush (one huge INSERT ... SELECT with a huge alexidx.insert_buffer),
# and during the compaction of a build's range that a large DELETE + VACUUM triggers.
# After each restart: every committed row is found through the index, index and seq scans
# agree, alexidx_check passes, and the sidecar keeps no build of an index that does not exist.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use AlexidxRel;

my $N = 200_000;
my $node = ax_node('crash_ddl', conf => "autovacuum = off\nmax_wal_size = 2GB\n");
$node->safe_psql('postgres', qq{
	CREATE TABLE big (k bigint, c int);
	INSERT INTO big SELECT (g::bigint * 7919) % 1000003, g FROM generate_series(1, $N) g;
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, 0 FROM generate_series(1, 10000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CHECKPOINT;
});

# Runs $sql in the background, waits until $ready (a query) returns a non-empty value or the
# client ends, then crashes the server with $how. Returns (what $ready said, client output).
sub crash_during
{
	my ($name, $sql, $ready, $how) = @_;
	my $c = ax_bg($node, 'postgres', $name, $sql . "\n\\echo DONE\n");
	# background work that the statement started (a compaction) may still come after it
	# ended: $ready gets 5 s more then
	my $ended;
	my $seen = ax_poll(60, 0.01, sub {
		my ($ret, $out) = $node->psql('postgres', $ready);
		return $out if $ret == 0 && $out ne '';
		eval { $c->{h}->pump_nb };
		$ended //= time() unless $c->{h}->pumpable;
		return $ended && time() - $ended > 5 ? 'client ended' : '';
	});
	my $t = time() - $c->{start};
	if ($how eq 'sigkill') { ax_crash($node) }
	else { $node->stop('immediate') }
	return after_crash($name, $how, $c, $t, $seen);
}

# The statement's client after the crash: reports, starts the server again and returns
# (where the crash landed, whether the statement had completed).
sub after_crash
{
	my ($name, $how, $c, $t, $seen) = @_;
	my (undef, $out) = ax_bg_finish($c, 30);
	my $done = $out =~ /DONE/ ? 1 : 0;
	diag(sprintf("%s: crash (%s) after %.2fs at '%s'; the statement %s", $name, $how, $t, $seen // '',
			$done ? 'had completed' : 'had not completed'));
	$node->start;
	return ($seen, $done);
}

# A crash from inside the server, for a statement too short to catch from here: a watcher
# session runs $ready every millisecond and, the moment it returns a row, SIGKILLs the
# postmaster and all its children (COPY TO PROGRAM). A poll from Perl spawns a psql each
# time; on a loaded machine it missed a whole CREATE INDEX of 200,000 rows.
sub crash_from_server
{
	my ($name, $sql, $ready) = @_;
	my $pm = $node->{_pid} or die 'node is not running';
	my $mark = $node->basedir . '/crash_phase';
	unlink $mark;
	my $w = ax_bg($node, 'postgres', "${name}_watch", qq{DO \$w\$
DECLARE seen text;
BEGIN
	FOR i IN 1 .. 120000 LOOP
		PERFORM pg_stat_clear_snapshot();
		EXECUTE \$q\$$ready\$q\$ INTO seen;
		IF seen IS NOT NULL THEN
			EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
				format('printf %%s %s > %s; kill -9 $pm \$(ps -o pid= --ppid $pm)', quote_literal(seen), '$mark'));
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
END \$w\$;
});
	# the watcher is polling before the statement starts
	ax_poll(30, 0.05, sub { $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO %pg_stat_clear_snapshot%' AND pid <> pg_backend_pid()}) eq '1' });
	my $c = ax_bg($node, 'postgres', $name, $sql . "\n\\echo DONE\n");
	my $died = ax_poll(60, 0.02, sub { !kill 0, $pm });
	my $t = time() - $c->{start};
	ax_crash($node) unless $died;
	$node->{_pid} = undef;
	ax_bg_finish($w, 30);
	my $seen = -e $mark ? slurp_file($mark) : 'client ended';
	return after_crash($name, 'SIGKILL from the server', $c, $t, $seen);
}

sub count_rows { return $node->safe_psql('postgres', "SELECT count(*) FROM $_[0]") }

# ---- 1. CREATE INDEX ----
my ($seen, $done) = crash_from_server('create_index', 'CREATE INDEX big_ax ON big USING alexidx (k);',
	q{SELECT phase FROM pg_stat_progress_create_index WHERE phase NOT LIKE $$%initializing$$});
my $exists = $node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'big_ax'");
isnt($seen, 'client ended', "CREATE INDEX: the crash landed while the build ran (phase '$seen')");
ok(!$done || $exists, 'CREATE INDEX: an acknowledged index exists after the crash');
# The aborted CREATE INDEX leaves its relation file behind (PostgreSQL does not remove files
# of transactions that a crash cut short), metapage and all; the sweep must still drop the
# build, because its creating transaction never committed.
ax_assert_no_orphans($node, 'crash during CREATE INDEX', secs => 6);
$node->safe_psql('postgres', 'CREATE INDEX big_ax ON big USING alexidx (k)') if !$exists;
ax_verify($node, label => 'crash during CREATE INDEX', table => 'big', index => 'big_ax',
	expect_count => $N);
ax_verify($node, label => 'crash during CREATE INDEX (other index)', table => 't', index => 't_ax',
	expect_count => 10000);

# ---- 1b. CREATE INDEX done, its transaction still open at the crash (deterministic) ----
($seen, $done) = crash_during('create_index_open_xact',
	"BEGIN;\nCREATE INDEX leak_ax ON t USING alexidx (k);\nSELECT pg_sleep(60);",
	q{SELECT 'sleeping' FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'},
	'immediate');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'leak_ax'"), 0,
	'uncommitted CREATE INDEX: no index after the crash');
ax_assert_no_orphans($node, 'crash with a built but uncommitted index', secs => 6);

# ---- 2. VACUUM ----
$node->safe_psql('postgres', 'DELETE FROM big WHERE c % 10 = 0; CHECKPOINT;');
my $live = count_rows('big');
($seen, $done) = crash_during('vacuum', 'VACUUM big;',
	q{SELECT phase FROM pg_stat_progress_vacuum WHERE phase IN ('vacuuming indexes', 'vacuuming heap', 'cleaning up indexes')},
	'immediate');
ax_verify($node, label => 'crash during VACUUM', table => 'big', index => 'big_ax', expect_count => $live);
$node->safe_psql('postgres', 'VACUUM big');
is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('big_ax')"), $live,
	'after the crash, VACUUM leaves exactly the live rows in the index');
ax_verify($node, label => 'crash during VACUUM, vacuumed again', table => 'big', index => 'big_ax',
	expect_count => $live);

# ---- 3. a large insert-buffer flush (at PRE_COMMIT: into the tree and the WAL) ----
# The crash lands once the sidecar worker is applying the flush's WAL records (the apply lag
# passes 1 MB), or, if the apply keeps up, when the client ends.
($seen, $done) = crash_during('big_flush',
	"SET alexidx.insert_buffer = 16000000;\nINSERT INTO big SELECT 2000000 + g, -1 FROM generate_series(1, $N) g;",
	q{SELECT 'applying' FROM alexidx_status() WHERE apply_lag_bytes > 1000000}, 'sigkill');
my $expect = $live + ($done ? $N : 0);
my $after = count_rows('big');
ok($after == $live || $after == $live + $N, "large flush: the INSERT is all or nothing ($after rows)");
ax_verify($node, label => 'crash during a large insert-buffer flush', table => 'big', index => 'big_ax',
	expect_count => $after);
ok($after == $expect || !$done, 'large flush: an acknowledged INSERT kept all its rows');
$node->safe_psql('postgres', 'VACUUM big');
is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('big_ax')"), $after,
	'large flush: after VACUUM the index holds no entry of the rolled back INSERT');
$live = $after;

# ---- 4. the compaction that a large DELETE + VACUUM triggers ----
$node->safe_psql('postgres', 'DELETE FROM big WHERE c % 2 = 0; CHECKPOINT;');
$live = count_rows('big');
my $log = $node->data_dir . '/pg_alexidx/pgsql_tmp_live/LOG';
my $before = () = slurp_file($log) =~ /Manual compaction starting/g;
($seen, $done) = crash_during('compaction', 'VACUUM big;', qq{
	SELECT CASE WHEN (SELECT count(*) FROM regexp_matches(pg_read_file('$log'), 'Manual compaction starting', 'g')) > $before
	THEN 'compacting' END}, 'sigkill');
ax_verify($node, label => 'crash during compaction', table => 'big', index => 'big_ax', expect_count => $live);
$node->safe_psql('postgres', 'VACUUM big');
is($node->safe_psql('postgres', "SELECT entries FROM alexidx_stats('big_ax')"), $live,
	'after the crash during compaction, VACUUM leaves exactly the live rows');
ax_verify($node, label => 'crash during compaction, vacuumed again', table => 'big', index => 'big_ax',
	expect_count => $live);
ax_assert_no_orphans($node, 'after the DDL crashes');

$node->stop;
done_testing();
