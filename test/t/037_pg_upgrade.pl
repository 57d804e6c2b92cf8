# pg_upgrade carries the heap and the index files (each alexidx index's metapage) into the new
# cluster, but not the sidecar in pg_alexidx, where the entries live. Until a REINDEX, every
# use of such an index must fail with the error that names the REINDEX (never answer from
# another build: the binary-upgrade CREATE INDEX made an empty one for the same relation
# file), and the README's one-statement REINDEX of every alexidx index must bring them all
# back, in every database. Both transfer modes: copy, and --link.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $old = ax_node('upgrade_old', ext => 0, conf => "autovacuum = off\n");
$old->safe_psql('postgres', 'CREATE DATABASE b');
my %count;
for my $db (qw(postgres b))
{
	$old->safe_psql($db, q{
		CREATE EXTENSION alexidx;
		CREATE TABLE t (k bigint, v text);
		INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 20000) g;
		INSERT INTO t SELECT NULL, 'null' FROM generate_series(1, 50);
		CREATE INDEX t_ax ON t USING alexidx (k);
		INSERT INTO t SELECT g, 'r' || g FROM generate_series(20001, 21000) g;
		DELETE FROM t WHERE k % 7 = 0;
		VACUUM t;
		CREATE TABLE u (k timestamptz);
		CREATE INDEX u_ax ON u USING alexidx (k);
		INSERT INTO u SELECT '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 3000) g;
		CREATE TABLE w (k int);
		INSERT INTO w SELECT g FROM generate_series(1, 100) g;
		CREATE INDEX w_ax ON w USING alexidx (k);
		CREATE TABLE x (k int);
		INSERT INTO x SELECT g FROM generate_series(1, 100) g;
		CREATE INDEX x_ax ON x USING alexidx (k);
	});
	$count{$db} = $old->safe_psql($db, 'SELECT count(k) FROM t');
}
$old->stop;

# The statement the README gives for the REINDEX after pg_upgrade, run in each database.
my $reindex_all = q{
	SELECT format('REINDEX INDEX %s;', c.oid::regclass)
	FROM pg_class c JOIN pg_am am ON am.oid = c.relam
	WHERE am.amname = 'alexidx' AND c.relkind = 'i'
	\gexec
};

my $bindir = $old->config_data('--bindir');
for my $mode ('copy', 'link')
{
	my $new = PostgreSQL::Test::Cluster->new("upgrade_new_$mode",
		$ENV{ALEXIDX_INSTALL_PATH} ? (install_path => $ENV{ALEXIDX_INSTALL_PATH}) : ());
	$new->init;
	$new->append_conf('postgresql.conf', "shared_preload_libraries = 'alexidx'\n"
		  . "alexidx.memory = 128MB\nalexidx.sweep_interval = 1\nwal_level = replica\n"
		  . "autovacuum = off\n");
	# pg_upgrade writes its files and sockets in its working directory
	my $work = tempdir(CLEANUP => 1, DIR => PostgreSQL::Test::Utils::tempdir_short());
	my $here = getcwd();
	chdir $work or die "chdir $work: $!";
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ "$bindir/pg_upgrade", '--no-sync', '-d', $old->data_dir, '-D', $new->data_dir,
			'-b', $bindir, '-B', $bindir, '-p', $old->port, '-P', $new->port, '-s', $work,
			$mode eq 'link' ? ('--link') : () ], '>', \$stdout, '2>', \$stderr);
	chdir $here or die "chdir $here: $!";
	ok($ok, "pg_upgrade ($mode) succeeds") or diag("stdout:\n$stdout\nstderr:\n$stderr");
	$new->start;

	for my $db (qw(postgres b))
	{
		for my $q ([ t_ax => 'SELECT count(*) FROM t WHERE k > 100' ],
			[ u_ax => "SELECT count(*) FROM u WHERE k < '2026-01-02'" ],
			[ t_ax => "INSERT INTO t VALUES (99999, 'x')" ],
			[ t_ax => 'VACUUM t' ])
		{
			my ($index, $sql) = @$q;
			my ($ret, $out, $err) = $new->psql($db,
				"SET enable_seqscan = off; SET enable_bitmapscan = off; $sql");
			isnt($ret, 0, "$mode, $db: before the REINDEX, '$sql' fails");
			like($err, qr/sidecar has no data for index "$index".*HINT:\s+Rebuild the index with REINDEX INDEX $index\./s,
				"$mode, $db: ... with the error that names REINDEX INDEX $index");
		}
		# a TRUNCATE gives the index a new build; an index that is not wanted any more can
		# be dropped instead, or its table
		is($new->safe_psql($db, "TRUNCATE w; INSERT INTO w VALUES (7), (8);
			SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT k FROM w WHERE k > 7"),
			'8', "$mode, $db: TRUNCATE makes the index usable without a REINDEX");
		my $drop = $db eq 'b' ? 'DROP INDEX x_ax' : 'DROP TABLE x';
		my ($dret, $dout, $derr) = $new->psql($db, $drop);
		is($dret, 0, "$mode, $db: $drop succeeds without a REINDEX") or diag($derr);
		$new->safe_psql($db, $reindex_all);
		ax_verify($new, db => $db, label => "$mode, $db: after the REINDEX", expect_count => $count{$db});
		ax_verify($new, db => $db, where => 'k IS NULL', label => "$mode, $db: NULLs after the REINDEX",
			expect_count => 50);
		ax_verify($new, db => $db, table => 'u', index => 'u_ax', where => "k >= '-infinity'", label => "$mode, $db: u after the REINDEX",
			expect_count => 3000);
		$new->safe_psql($db, q{
			INSERT INTO t SELECT g, 'n' || g FROM generate_series(30001, 31000) g;
			DELETE FROM t WHERE k BETWEEN 1 AND 500;
			VACUUM t;
		});
		$count{"$mode/$db"} = $new->safe_psql($db, 'SELECT count(k) FROM t');
	}
	# the rebuilt indexes survive a restart, and the binary-upgrade builds are swept away
	$new->restart;
	for my $db (qw(postgres b))
	{
		ax_verify($new, db => $db, label => "$mode, $db: after writes and a restart",
			expect_count => $count{"$mode/$db"});
	}
	ax_assert_no_orphans($new, "$mode: after the upgrade");
	$new->stop;
}

done_testing();
