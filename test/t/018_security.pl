# Security: the sidecar directory and every file in it belong to the server's user and are
# private to it (directories 0700, files 0600), like the rest of a default data directory;
# with group access (initdb -g), nothing is ever readable by others.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

sub check_tree
{
	my ($node, $label, $dirmode, $filemode) = @_;
	$node->safe_psql('postgres', q{
		CREATE TABLE t (k bigint);
		INSERT INTO t SELECT generate_series(1, 20000);
		CREATE INDEX t_ax ON t USING alexidx (k);
		INSERT INTO t SELECT generate_series(20001, 30000);
	});
	$node->stop;    # a clean stop flushes RocksDB's memtable into files as well
	$node->start;
	my $top = $node->data_dir . '/pg_alexidx';
	my (@bad, $n);
	find({ no_chdir => 1, wanted => sub {
		my ($mode, $uid) = ax_file_mode($File::Find::name);
		# gone since the directory was listed: the worker opening RocksDB removes old log files
		return unless defined $mode;
		$n++;
		my $want = -d $File::Find::name ? $dirmode : $filemode;
		push @bad, sprintf('%s %04o uid %d', $File::Find::name =~ s{.*/pg_alexidx}{pg_alexidx}r, $mode, $uid)
		  if $uid != $> || ($mode & ~$want);
	} }, $top);
	ok($n > 5, "$label: pg_alexidx holds $n entries");
	is(join("\n", @bad), '', sprintf('%s: every entry is owned by the server user, dirs within %04o, files within %04o',
			$label, $dirmode, $filemode));
	my ($m) = ax_file_mode($top);
	is(sprintf('%04o', $m & ~$dirmode), '0000', sprintf('%s: pg_alexidx itself is %04o, within %04o', $label, $m, $dirmode));
	is($m & 0007, 0, "$label: nothing in pg_alexidx is open to other users");
}

my $node = ax_node('security');
check_tree($node, "default data directory", 0700, 0600);
is(sprintf('%04o', (ax_file_mode($node->data_dir . '/pg_alexidx'))[0]), '0700', 'default data directory: pg_alexidx is exactly 0700');
$node->stop;

my $group = ax_node('security_group', init => { extra => ['-g'] });
check_tree($group, 'group access (initdb -g)', 0750, 0640);
$group->stop;
done_testing();
