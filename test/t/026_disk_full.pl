# A full disk under pg_alexidx (issue 10, item 9). A logged index's commits go on: its changes
# are in PostgreSQL's WAL (on another file system here), the sidecar worker cannot apply them,
# says so in the log and alexidx_status() shows the lag growing, and the replication slot keeps
# the WAL. An unlogged index, which has no WAL, fails its writes with a clear "no space" ERROR
# (SQLSTATE 53100, disk_full) that does not send the DBA to REINDEX. The server stays up (no
# crash restart), nothing committed is lost, and the sidecar catches up once space is freed.
# The sidecar lives on a small tmpfs (512 MB) that the harness mounts as root (ALEXIDX_SMALL_FS); the
# test is skipped, saying so, where it cannot be mounted.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Copy qw(move);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $fs = $ENV{ALEXIDX_SMALL_FS};
plan skip_all => 'no small file system for the sidecar (scripts/test-all.sh mounts one when run as root)'
  unless $fs && -d $fs && -w $fs;

my $node = ax_node('disk_full', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{CREATE TABLE t (k bigint); CREATE INDEX t_ax ON t USING alexidx (k);
	CREATE UNLOGGED TABLE u (k bigint); CREATE INDEX u_ax ON u USING alexidx (k)});
$node->stop;
my $side = $node->data_dir . '/pg_alexidx';
# the file system may hold what an earlier run left (cp -a would copy into it)
system('rm', '-rf', "$fs/pg_alexidx", "$fs/filler") == 0 or die;
system('cp', '-a', $side, "$fs/pg_alexidx") == 0 or die "copy: $!";
system('rm', '-rf', $side) == 0 or die;
symlink("$fs/pg_alexidx", $side) or die "symlink: $!";
# leave little room above the 128 MB that alexidx keeps free: a filler file takes the rest
my $filler = "$fs/filler";
my $free_mb = (split ' ', `df -Pm $fs | tail -1`)[3];
system("dd if=/dev/zero of=$filler bs=1M count=" . ($free_mb - 300) . " status=none") == 0 or die 'dd failed';
$node->start;

my ($committed, $i) = (0, 0);
my $full = 0;
for ($i = 0; $i < 400 && !$full; $i++)
{
	$node->safe_psql('postgres', "INSERT INTO t SELECT g FROM generate_series($committed + 1, $committed + 50000) g");
	$committed += 50000;
	$full = ax_poll(0.3, 0.1, sub { $node->log_contains(qr/could not apply the WAL, retrying in \d+ s: only \d+ MB are free/) });
}
ok($full, "the sidecar worker reports the full disk after $committed rows");
# Free space hovers around the 128 MB reserve once RocksDB drops a flushed log, so a retried
# apply can get through for a moment. Take the disk firmly below the reserve (but above the
# removal floor and what a compaction needs) so that every write that adds entries is refused.
# RocksDB may still delete files later (a compaction that ends, an obsolete log), so this is
# done again right before each write that must be refused.
sub below_reserve
{
	my $now_mb = (split ' ', `df -Pm $fs | tail -1`)[3];
	system("dd if=/dev/zero of=$filler bs=1M count=" . ($now_mb - 96) . " oflag=append conv=notrunc status=none") == 0
	  or die 'dd failed'
	  if $now_mb > 96;
}
below_reserve();
my $more = 0;
for (1 .. 3)
{
	my ($ret, $out, $e) = $node->psql('postgres',
		"INSERT INTO t SELECT g FROM generate_series($committed + 1, $committed + 20000) g");
	last if $ret != 0;
	$committed += 20000;
	$more++;
}
is($more, 3, 'logged inserts still commit while the sidecar cannot apply them');
cmp_ok($node->safe_psql('postgres', 'SELECT apply_lag_bytes FROM alexidx_status()'), '>', 1000000,
	'alexidx_status() shows the sidecar falling behind');

below_reserve();
my ($ret, $out, $err) = $node->psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(1, 50000) g');
isnt($ret, 0, 'an unlogged index fails its write');
like($err, qr/no space/i, 'the error says there is no space') or diag($err);
unlike($err, qr/REINDEX/, 'the error does not ask for a REINDEX');
is($node->safe_psql('postgres', q{SELECT 1}), '1', 'the server is up');
ok(!$node->log_contains(qr/terminating any other active server processes|was terminated by signal/),
	'no server process crashed');

unlink $filler or die "unlink: $!";
ok(ax_poll(60, 0.2, sub { $node->safe_psql('postgres',
	'SELECT durable_lsn >= pg_current_wal_flush_lsn() - 100000 FROM alexidx_status()') eq 't' }),
	'after space is freed, the sidecar catches up with the WAL');
($ret) = $node->psql('postgres', 'INSERT INTO u SELECT g FROM generate_series(1, 1000) g');
is($ret, 0, 'after space is freed, unlogged writes work again');
ax_verify($node, label => 'after the disk was full', expect_count => $committed);
$node->stop('immediate');
$node->start;
ax_verify($node, label => 'after the disk was full, and a crash', expect_count => $committed);
ax_verify($node, label => 'unlogged, after the disk was full', table => 'u', index => 'u_ax', expect_count => 0);
$node->stop;
done_testing();
