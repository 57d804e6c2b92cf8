# PostgreSQL's WAL is the log of record of alexidx indexes: commits never wait for the sidecar
# worker, the worker follows the WAL into RocksDB, its replication slot keeps the WAL it has not
# made durable, and a crash with the sidecar far behind loses nothing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use AlexidxRel;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = ax_node('walrec', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_walinspect;
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, 0 FROM generate_series(1, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
});

sub status
{
	my ($col) = @_;
	return $node->safe_psql('postgres', "SELECT $col FROM alexidx_status()");
}

# ---- the records, as pg_walinspect shows them ----
my $before = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$node->safe_psql('postgres', 'INSERT INTO t SELECT g, 1 FROM generate_series(1001, 1500) g');
$node->safe_psql('postgres', 'DELETE FROM t WHERE k <= 100; VACUUM (INDEX_CLEANUP on) t');
# VACUUM assigns no transaction id, so its commit flushes nothing: a WAL switch does
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
my $after = $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
my $recs = $node->safe_psql('postgres', qq{
	SELECT record_type || ': ' || description FROM pg_get_wal_records_info('$before', '$after')
	WHERE resource_manager = 'alexidx' ORDER BY start_lsn});
like($recs, qr/^INSERT: build \d+; rel \d+\/\d+\/\d+; 500 entries \(packed\); format 1$/m,
	'pg_walinspect names the insert batch of 500 entries');
like($recs, qr/^DELETE: build \d+; rel \d+\/\d+\/\d+; 100 entries \(packed\); format 1$/m,
	'pg_walinspect names the VACUUM delete batch of 100 entries');
# appended keys on consecutive heap slots pack to about 2 bytes an entry (16 raw)
my $len = $node->safe_psql('postgres', qq{
	SELECT record_length FROM pg_get_wal_records_info('$before', '$after')
	WHERE resource_manager = 'alexidx' AND record_type = 'INSERT' ORDER BY start_lsn LIMIT 1});
cmp_ok($len, '<', 500 * 3 + 100, "the insert batch of 500 appended keys is packed ($len bytes)");

# ---- the worker follows: applied and durable reach the WAL, the slot follows them ----
ok(ax_poll(30, 0.1, sub { status('durable_lag_bytes') < 100000 && status('durable_lsn') ge '' &&
	$node->safe_psql('postgres', "SELECT durable_lsn >= '$after' FROM alexidx_status()") eq 't' }),
	'the sidecar becomes durable past the changes');
is($node->safe_psql('postgres', q{SELECT slot_type || ' ' || (restart_lsn = (SELECT durable_lsn FROM alexidx_status()) OR restart_lsn IS NOT NULL)
	FROM pg_replication_slots WHERE slot_name = 'alexidx_sidecar'}), 'physical true',
	'the sidecar worker owns a physical replication slot');

# ---- held back: commits go on, the slot keeps the WAL through checkpoints ----
$node->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = on\n");
$node->reload;
ok(ax_poll(10, 0.1, sub { $node->safe_psql('postgres', 'SHOW alexidx.hold_sidecar_apply') eq 'on' }),
	'the worker is told to hold the sidecar back');
sleep 1;
my $held_at = status('applied_lsn');
my $clients = ax_insert_clients($node, 4, 60, base => 100_000_000, name => 'held');
my $r = ax_wait_clients($clients, 120);
is(scalar(@{ $r->{errors} }), 0, 'inserts commit while the sidecar is held back') or diag(join "\n", @{ $r->{errors} });
$node->safe_psql('postgres', 'UPDATE t SET c = 77 WHERE k BETWEEN 1200 AND 1300');
is(status('applied_lsn'), $held_at, 'the sidecar applied nothing while held');
cmp_ok(status('apply_lag_bytes'), '>', 0, 'alexidx_status shows the apply lag');
my $restart = $node->safe_psql('postgres', "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'alexidx_sidecar'");
# pg_walfile_name() names the previous segment for a position on a segment boundary
my $seg = $node->safe_psql('postgres', "SELECT pg_walfile_name('$restart'::pg_lsn + 1)");
$node->safe_psql('postgres', 'SELECT pg_switch_wal(); CHECKPOINT');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (-1, 3); SELECT pg_switch_wal(); CHECKPOINT');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_ls_waldir() WHERE name = '$seg'"), '1',
	'two checkpoints later the slot still keeps the WAL segment the sidecar needs');

# ---- a crash with the sidecar behind: everything committed is found ----
$node->stop('immediate');
$node->start;
$r->{acked}{$_} = 1 for (101 .. 1500, -1);
ax_verify($node, label => 'immediate stop, sidecar held back', acked => $r->{acked},
	never => $r->{never}, maybe => $r->{maybe});
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE c = 77'), '101', 'the UPDATE survived too');
like(slurp_file($node->logfile), qr/alexidx sidecar: applied the WAL from [0-9A-F\/]+ to [0-9A-F\/]+ in \d+ ms/,
	'the worker caught up from the WAL at start');

# ---- released: the slot moves on and old WAL is recycled ----
$node->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = off\n");
$node->reload;
$node->safe_psql('postgres', 'INSERT INTO t VALUES (-2, 4)');
my $now = $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
ok(ax_poll(30, 0.1, sub { $node->safe_psql('postgres',
	"SELECT restart_lsn >= '$now' FROM pg_replication_slots WHERE slot_name = 'alexidx_sidecar'") eq 't' }),
	'the slot advances once the sidecar is durable');
$node->safe_psql('postgres', 'SELECT pg_switch_wal(); CHECKPOINT; SELECT pg_switch_wal(); CHECKPOINT');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_ls_waldir() WHERE name = '$seg'"), '0',
	'the WAL the sidecar no longer needs is recycled');

# ---- synchronous_commit = off: a lost commit loses heap and index together ----
my $async = ax_bg($node, 'postgres', 'async',
	join('', map { "INSERT INTO t SELECT g, 5 FROM generate_series(" . (300_000_000 + $_ * 100)
	  . ", " . (300_000_000 + $_ * 100 + 99) . ") g;\n" } 0 .. 400),
	pgoptions => '-c synchronous_commit=off');
ok(ax_poll(30, 0.05, sub { $node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE c = 5') > 2000 }),
	'asynchronous commits are under way');
ax_crash($node);
ax_bg_finish($async, 10);
$node->start;
ax_verify($node, label => 'kill -9 with synchronous_commit = off', where => 'k >= 300000000');
$node->stop;

# ---- the slot loses WAL (max_slot_wal_keep_size): the index asks for a REINDEX ----
$node->start;
# an unlogged index has no WAL to miss: it must come through untouched
$node->safe_psql('postgres', q{CREATE UNLOGGED TABLE ul (k bigint); CREATE INDEX ul_ax ON ul USING alexidx (k);
	INSERT INTO ul SELECT g FROM generate_series(1, 30000) g});
$node->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = on\nmax_slot_wal_keep_size = 1MB\n");
$node->reload;
ok(ax_poll(10, 0.1, sub { $node->safe_psql('postgres', 'SHOW max_slot_wal_keep_size') eq '1MB' }), 'max_slot_wal_keep_size is 1MB');
sleep 1;
for my $i (1 .. 4)
{
	$node->safe_psql('postgres', "INSERT INTO t SELECT g, 8 FROM generate_series(400000000 + $i * 100000, 400000000 + $i * 100000 + 20000) g");
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$node->safe_psql('postgres', 'CHECKPOINT');
}
is($node->safe_psql('postgres', "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'alexidx_sidecar'"), 'lost',
	'the checkpoint invalidated the sidecar slot');
$node->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = off\nmax_slot_wal_keep_size = -1\n");
$node->reload;
ok(ax_poll(30, 0.2, sub { $node->log_contains(qr/builds were dropped/) }), 'the worker drops the builds that miss WAL');
my ($lret, $lout, $lerr) = $node->psql('postgres', 'SET enable_seqscan = off; SELECT count(*) FROM t WHERE k > 0');
like($lerr, qr/the sidecar has no data for index "t_ax".*HINT:  Rebuild the index with REINDEX INDEX t_ax/s,
	'the index then fails with a REINDEX hint, never a wrong answer');
ax_verify($node, label => 'unlogged, after the lost slot', table => 'ul', index => 'ul_ax', expect_count => 30000);
$node->safe_psql('postgres', 'REINDEX INDEX t_ax');
ax_verify($node, label => 'after the lost slot and a REINDEX');
is($node->safe_psql('postgres', "SELECT wal_status <> 'lost' FROM pg_replication_slots WHERE slot_name = 'alexidx_sidecar'"), 't',
	'the worker made its slot again');

# ---- upgrade from 0.1.0 ----
$node->safe_psql('postgres', 'CREATE DATABASE up');
$node->safe_psql('up', "CREATE EXTENSION alexidx VERSION '0.1.0'");
$node->safe_psql('up', q{
	CREATE TABLE d (k date);
	INSERT INTO d SELECT date '2026-01-01' + g FROM generate_series(0, 999) g;
	CREATE INDEX d_ax ON d USING alexidx (k);
});
$node->safe_psql('up', 'ALTER EXTENSION alexidx UPDATE');
is($node->safe_psql('up', "SELECT extversion FROM pg_extension WHERE extname = 'alexidx'") . ' '
	. $node->safe_psql('up', 'SELECT worker_state FROM alexidx_status()'), '0.4.0 running',
	'ALTER EXTENSION alexidx UPDATE from 0.1.0 adds alexidx_status()');
like($node->safe_psql('up', 'SELECT snapshot_lsn FROM alexidx_status()'), qr{^[0-9A-F]+/[0-9A-F]+$},
	'after the update, alexidx_status() shows the newest sidecar snapshot');
# 0.3.0: an index made before the update serves comparisons with timestamps
my $cross = q{SELECT count(*), min(k), max(k) FROM d WHERE k > timestamp '2026-02-01 12:00' AND k <= timestamptz '2026-03-01 00:00+00'};
like($node->safe_psql('up', "SET enable_seqscan = off; SET enable_bitmapscan = off; EXPLAIN (costs off) $cross"),
	qr/Index (Only )?Scan using d_ax/, 'after the update, a date index serves a timestamp comparison');
is($node->safe_psql('up', "SET enable_seqscan = off; SET enable_bitmapscan = off; $cross"),
	$node->safe_psql('up', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $cross"),
	'after the update, the cross-type comparison through the index equals a seq scan');
# 0.4.0: the update adds uuid_ops, and a uuid index made after it answers as a seq scan does
$node->safe_psql('up', q{
	CREATE TABLE u (k uuid);
	INSERT INTO u SELECT md5(g::text)::uuid FROM generate_series(1, 5000) g;
	CREATE INDEX u_ax ON u USING alexidx (k);
});
my $uq = q{SELECT count(*), min(k::text), max(k::text) FROM u WHERE k >= '40000000-0000-0000-0000-000000000000' AND k < 'c0000000-0000-0000-0000-000000000000'};
is($node->safe_psql('up', "SET enable_seqscan = off; SET enable_bitmapscan = off; $uq"),
	$node->safe_psql('up', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $uq"),
	'after the update, a uuid index equals a seq scan');
$node->stop;

# ---- wal_level = minimal: refused with a message that names it ----
my $min = ax_node('minimal', conf => "wal_level = minimal\nmax_wal_senders = 0\n");
my ($ret, $out, $err) = $min->psql('postgres', 'CREATE TABLE m (k bigint); CREATE INDEX ON m USING alexidx (k)');
like($err, qr/alexidx indexes need wal_level = replica or logical/, 'CREATE INDEX under wal_level = minimal names wal_level');
like($min->safe_psql('postgres', 'SELECT worker_state FROM alexidx_status()'), qr/^failed$/, 'the worker reports why it cannot run');
($ret, $out, $err) = $min->psql('postgres', 'CREATE UNLOGGED TABLE u (k bigint); CREATE INDEX ON u USING alexidx (k)');
like($err, qr/wal_level = replica or logical/, 'an unlogged index is refused with the same reason');
$min->stop;

done_testing();
