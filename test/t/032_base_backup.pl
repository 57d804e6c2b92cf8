# Base backups, point-in-time recovery and pg_rewind with alexidx indexes (issue 13). Base
# backups skip the live sidecar (pg_alexidx/pgsql_tmp_live) and carry the snapshots that every
# checkpoint waits for; a restored server brings the newest usable one forward with its WAL.
#  1. pg_basebackup with a fast and with a spread checkpoint while 4 clients write: started
#     alone, every alexidx query equals a seq scan; started as a standby, it catches up and
#     equals the primary; a base backup of that standby restores as well
#  2. PITR from an archive to a named restore point, with DELETE and VACUUM after it: the index
#     equals a seq scan at the target; the promoted server takes writes
#  3. pg_rewind of the old primary after a promotion: it rejoins as a standby and its index
#     equals the new primary's rows
#  4. a backup whose snapshots are missing, and one whose snapshots are damaged: the index fails
#     with the REINDEX error (never rows), a new index built there does not take its place, and
#     REINDEX brings it back
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Path qw(rmtree);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1, has_archiving => 1 },
	conf => "autovacuum = off\ncheckpoint_timeout = 30s\ncheckpoint_completion_target = 0.1\n"
	  . "wal_log_hints = on\nmax_wal_senders = 10\n");
$primary->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 20000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE TABLE e (id serial, at timestamptz);
	INSERT INTO e (at) SELECT timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 3000) g;
	CREATE INDEX e_ax ON e USING alexidx (at);
});

my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
my $seq = 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;';
my $eq = q{SELECT count(*) || ' ' || coalesce(md5(string_agg(id || '@' || at, ',' ORDER BY id)), '-') FROM e WHERE at >= '-infinity'};

# A node made from a backup of the primary; it neither archives into the primary's archive nor
# waits at a recovery target.
sub from_backup
{
	my ($name, $backup, %o) = @_;
	my $root = delete $o{root} // $primary;
	my $node = ax_cluster($name);
	$node->init_from_backup($root, $backup, %o);
	$node->append_conf('postgresql.conf', "archive_mode = off\n");
	return $node;
}

# The timestamps index answers like a seq scan (the plan is checked).
sub check_e
{
	my ($node, $label) = @_;
	like($node->safe_psql('postgres', "$force EXPLAIN (costs off) $eq"), qr/Index Scan using e_ax/, "$label: e uses e_ax");
	is($node->safe_psql('postgres', "$force $eq"), $node->safe_psql('postgres', "$seq $eq"),
		"$label: timestamps through e_ax equal a seq scan");
}

# ---- alexidx_status() names the newest snapshot: the one of the last checkpoint ----
$primary->safe_psql('postgres', 'CHECKPOINT');
is($primary->safe_psql('postgres', 'SELECT snapshot_lsn >= redo_lsn FROM alexidx_status(), pg_control_checkpoint()'), 't',
	'alexidx_status().snapshot_lsn is at or after the last checkpoint\'s redo pointer');

# ---- 1. pg_basebackup under writers, fast and spread checkpoints ----
my $base = 100_000_000;
for my $mode ('fast', 'spread')
{
	my $w = ax_insert_clients($primary, 4, 250, base => $base, name => "bk_$mode", table => 't');
	ax_wait_acked($w, 0.2);
	# the keys of every transaction acknowledged before the backup began (read after it ended,
	# the files would also name transactions acknowledged between the backup's end and the read)
	my %before;
	for my $c (@$w)
	{
		my $out = slurp_file($c->{out});
		while ($out =~ /^C (\d+)$/mg)
		{
			$before{$_} = 1 for map { $_->[0] .. $_->[1] } @{ $c->{tx}[$1]{keep} };
		}
	}
	$primary->backup("bk_$mode", backup_options => [ '--checkpoint', $mode ]);
	ok(keys(%before) > 0, "$mode: " . keys(%before) . ' rows were committed before the backup began');
	my $r = ax_wait_clients($w, 180);
	is(scalar(@{ $r->{errors} }), 0, "$mode: the writers ran through the backup") or diag(join "\n", @{ $r->{errors} });
	$base += 100_000_000;

	my $alone = from_backup("alone_$mode", "bk_$mode");
	$alone->start;
	ok($alone->wait_for_log(qr/alexidx sidecar: restored from snapshot snap_/), "$mode: the restored sidecar came from a snapshot");
	ax_verify($alone, label => "$mode backup, alone", acked => \%before, never => $r->{never});
	check_e($alone, "$mode backup, alone");
	$alone->safe_psql('postgres', 'INSERT INTO t SELECT g, 5 FROM generate_series(-3000, -1) g');
	ax_verify($alone, label => "$mode backup, alone, after writes");
	$alone->stop;
}

# It also restores from the primary's archive, as a standby made from an older backup must: the
# WAL since bk_fast (the spread backup and its writers came after) may be gone from pg_wal.
my $standby = from_backup('standby', 'bk_fast', has_streaming => 1, has_restoring => 1);
$standby->start;
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 6 FROM generate_series(900000001, 900002000) g; DELETE FROM t WHERE k % 11 = 0');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
is(ax_summary($standby, 'postgres', 't', 't_ax', 'index'), ax_summary($primary, 'postgres', 't', 't_ax', 'seq'),
	'standby from a backup: its index equals the primary\'s rows');
check_e($standby, 'standby from a backup');

# ---- a base backup of the standby: its worker wrote a snapshot for the replayed checkpoint ----
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 7 FROM generate_series(905000001, 905002000) g; CHECKPOINT');
my $redo = $primary->safe_psql('postgres', 'SELECT redo_lsn FROM pg_control_checkpoint()');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
my ($hi, $lo) = split m{/}, $redo;
my $want = sprintf('snap_%08X%08X', hex($hi), hex($lo));
ok(ax_poll(30, 0.2, sub { grep { (split m{/}, $_)[-1] ge $want } glob($standby->data_dir . '/pg_alexidx/snap_*') }),
	"the standby wrote a snapshot at or after the primary's checkpoint ($redo)");
$standby->backup('bk_standby');
my $from_standby = from_backup('from_standby', 'bk_standby', root => $standby);
$from_standby->start;
ok($from_standby->wait_for_log(qr/alexidx sidecar: restored from snapshot snap_/), 'backup of the standby: the sidecar came from a snapshot');
is(ax_summary($from_standby, 'postgres', 't', 't_ax', 'index'), ax_summary($from_standby, 'postgres', 't', 't_ax', 'seq'),
	'backup of the standby: the index equals a seq scan');
check_e($from_standby, 'backup of the standby');
$from_standby->stop;

# ---- 2. PITR to a restore point ----
$primary->backup('bk_pitr');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 8 FROM generate_series(910000001, 910003000) g');
my $at_target = ax_summary($primary, 'postgres', 't', 't_ax', 'seq');
$primary->safe_psql('postgres', "SELECT pg_create_restore_point('before_delete')");
$primary->safe_psql('postgres', 'DELETE FROM t WHERE k % 3 = 0; VACUUM t');
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 9 FROM generate_series(920000001, 920004000) g');
my $last = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($primary->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver"),
	'the WAL past the target is archived');

my $pitr = from_backup('pitr', 'bk_pitr', has_restoring => 1, standby => 0);
$pitr->append_conf('postgresql.conf', "recovery_target_name = 'before_delete'\nrecovery_target_action = 'promote'\n");
$pitr->start;
ok($pitr->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'), 'PITR: recovered to the target and promoted');
is(ax_summary($pitr, 'postgres', 't', 't_ax', 'index'), $at_target, 'PITR: the index equals the rows at the target');
is(ax_summary($pitr, 'postgres', 't', 't_ax', 'seq'), $at_target, 'PITR: the heap holds the rows at the target');
$pitr->safe_psql('postgres', 'INSERT INTO t SELECT g, 10 FROM generate_series(930000001, 930001000) g; DELETE FROM t WHERE k % 5 = 1; VACUUM t');
ax_verify($pitr, label => 'PITR, promoted and written');
$pitr->stop;

# ---- 3. pg_rewind of the old primary after a promotion ----
$standby->promote;
ok($standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'), 'the standby is promoted');
$standby->safe_psql('postgres', 'INSERT INTO t SELECT g, 11 FROM generate_series(940000001, 940002000) g; CHECKPOINT');
# the old primary goes on alone: these rows and entries must go with the rewind
$primary->safe_psql('postgres', 'INSERT INTO t SELECT g, 12 FROM generate_series(950000001, 950002000) g; DELETE FROM t WHERE k % 4 = 0; VACUUM t');
$primary->stop;
# the old primary's WAL back to the last common checkpoint comes from its archive
my $archive = $primary->archive_dir;
$primary->append_conf('postgresql.conf', qq{restore_command = 'cp "$archive/%f" "%p"'\n});
command_ok([ 'pg_rewind', '--target-pgdata' => $primary->data_dir, '--restore-target-wal',
	'--source-server' => $standby->connstr('postgres'), '--no-sync' ], 'pg_rewind of the old primary');
# pg_rewind copied the new primary's configuration, its port included
$primary->append_conf('postgresql.conf', "port = " . $primary->port . "\narchive_mode = off\n"
	  . "primary_conninfo = '" . $standby->connstr() . "'\n");
$primary->set_standby_mode;
$primary->start;
$standby->safe_psql('postgres', 'INSERT INTO t SELECT g, 13 FROM generate_series(960000001, 960001000) g');
$standby->wait_for_catchup($primary, 'replay', $standby->lsn('flush'));
my ($ret, $out, $err) = $primary->psql('postgres', "$force SELECT count(*) FROM t WHERE k >= -9223372036854775808");
if ($ret == 0)
{
	is(ax_summary($primary, 'postgres', 't', 't_ax', 'index'), ax_summary($standby, 'postgres', 't', 't_ax', 'seq'),
		'rewound old primary: its index equals the new primary\'s rows');
	check_e($primary, 'rewound old primary');
}
else
{
	like($err, qr/REINDEX INDEX t_ax/, 'rewound old primary: the index asks for a REINDEX');
}
$primary->stop;

# ---- 4. missing and damaged snapshots ----
$standby->backup('bk_missing');
$standby->backup('bk_damaged');
my $dir = $standby->backup_dir;
my @snaps = glob("$dir/bk_missing/pg_alexidx/snap_*");
ok(@snaps > 0, 'the backup carries snapshots (' . scalar(@snaps) . ')');
rmtree($_) for @snaps;
my $damaged = 0;
for my $sst (glob("$dir/bk_damaged/pg_alexidx/snap_*/*.sst"))
{
	truncate($sst, (-s $sst) / 2) or die "truncate $sst: $!";
	$damaged++;
}
ok($damaged > 0, "damaged $damaged snapshot files");
ok(!glob("$dir/bk_missing/pg_alexidx/pgsql_tmp*"), 'the backup holds no live sidecar');

for my $case ('missing', 'damaged')
{
	my $node = from_backup("node_$case", "bk_$case", root => $standby);
	$node->start;
	my ($rc, $o, $e) = $node->psql('postgres', "$force SELECT count(*) FROM t WHERE k > 0");
	isnt($rc, 0, "$case snapshots: the index gives no rows");
	like($e, qr/REINDEX INDEX t_ax/, "$case snapshots: the error names REINDEX INDEX t_ax");
	# a build made now must not take the id the old metapage names
	$node->safe_psql('postgres', 'CREATE TABLE n (k bigint); INSERT INTO n SELECT generate_series(1, 500); CREATE INDEX n_ax ON n USING alexidx (k)');
	($rc, $o, $e) = $node->psql('postgres', "$force SELECT count(*) FROM t WHERE k > 0");
	like($e, qr/REINDEX INDEX t_ax/, "$case snapshots: still the REINDEX error after a new build");
	$node->safe_psql('postgres', 'REINDEX INDEX t_ax; REINDEX INDEX e_ax');
	ax_verify($node, label => "$case snapshots, after REINDEX");
	check_e($node, "$case snapshots, after REINDEX");
	$node->stop;
}

# ---- 5. an older backup restored over a data directory that kept a newer live sidecar ----
# Backups skip pg_alexidx/pgsql_tmp_live, so a restore copied over an old data directory
# (rather than into an empty one) keeps that directory's live sidecar, which holds WAL this
# server never wrote, on the same timeline. It must be discarded for the backup's snapshot:
# trusted, the trees came from it, and after the next crash the index lacked the rows
# inserted since the restore.
$standby->backup('bk_older');
$standby->safe_psql('postgres', 'INSERT INTO t SELECT g, 14 FROM generate_series(970000001, 970005000) g; '
	  . 'DELETE FROM t WHERE k % 5 = 0; VACUUM t; CHECKPOINT');
$standby->stop;
my $over = from_backup('over', 'bk_older', root => $standby);
system('cp', '-a', $standby->data_dir . '/pg_alexidx/pgsql_tmp_live', $over->data_dir . '/pg_alexidx/') == 0
  or die 'could not copy the newer live sidecar';
$over->start;
ok($over->log_contains(qr/alexidx: this server starts from a backup label \(a base backup or pg_rewind\), and its data directory holds a live sidecar/),
	'restore over a newer live sidecar: it is set aside');
# (the worker logs it once it runs, which may be after the server accepts connections)
ok($over->wait_for_log(qr/alexidx sidecar: restored from snapshot snap_/), 'restore over a newer live sidecar: the backup\'s snapshot is used');
ax_verify($over, label => 'restore over a newer live sidecar');
$over->safe_psql('postgres', 'INSERT INTO t SELECT g, 15 FROM generate_series(980000001, 980005000) g');
$over->stop('immediate');
$over->start;
ax_verify($over, label => 'restore over a newer live sidecar, after a crash');
check_e($over, 'restore over a newer live sidecar, after a crash');
$over->stop;
$standby->start;

$standby->stop;
done_testing();
