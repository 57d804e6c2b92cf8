# A full disk under pg_alexidx (issue 10, item 9): writes fail with a clear "no space" ERROR
# (SQLSTATE 53100, disk_full) that does not send the DBA to REINDEX, the server stays up (no
# crash restart), nothing committed is lost, and writes work again once space is freed.
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
plan skip_all => 'no small file system for the sidecar (tap.sh mounts one when run as root)'
  unless $fs && -d $fs && -w $fs;

my $node = ax_node('disk_full', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{CREATE TABLE t (k bigint); CREATE INDEX t_ax ON t USING alexidx (k)});
$node->stop;
my $side = $node->data_dir . '/pg_alexidx';
system('cp', '-a', $side, "$fs/pg_alexidx") == 0 or die "copy: $!";
system('rm', '-rf', $side) == 0 or die;
symlink("$fs/pg_alexidx", $side) or die "symlink: $!";
# leave little room above the 128 MB that alexidx keeps free: a filler file takes the rest
my $filler = "$fs/filler";
my $free_mb = (split ' ', `df -Pm $fs | tail -1`)[3];
system("dd if=/dev/zero of=$filler bs=1M count=" . ($free_mb - 300) . " status=none") == 0 or die 'dd failed';
$node->start;

my ($committed, $err, $i) = (0, '', 0);
for ($i = 0; $i < 400; $i++)
{
	my ($ret, $out, $e) = $node->psql('postgres',
		"INSERT INTO t SELECT g FROM generate_series($committed + 1, $committed + 50000) g");
	if ($ret != 0) { $err = $e; last }
	$committed += 50000;
}
ok($committed > 0, "inserts work while there is room ($committed rows)");
ok($err ne '', "an INSERT fails once the disk is full");
like($err, qr/no space/i, 'the error says there is no space') or diag($err);
unlike($err, qr/REINDEX/, 'the error does not ask for a REINDEX');
my $state = $node->safe_psql('postgres', q{SELECT 1});
is($state, '1', 'the server is up');
ok(!$node->log_contains(qr/terminating any other active server processes|was terminated by signal/),
	'no server process crashed');

unlink $filler or die "unlink: $!";
my ($ret) = $node->psql('postgres', "INSERT INTO t SELECT g FROM generate_series($committed + 1, $committed + 1000) g");
is($ret, 0, 'after space is freed, writes work again');
$committed += 1000 if $ret == 0;
ax_verify($node, label => 'after the disk was full', expect_count => $committed);
$node->restart;
ax_verify($node, label => 'after the disk was full, and a restart', expect_count => $committed);
$node->stop;
done_testing();
