# VACUUM and the sidecar worker. A VACUUM that removes many entries asks the worker to
# compact the index's part of the sidecar (to give the disk space back), and the worker must
# first have applied the removals from the WAL. VACUUM used to wait for that catch-up: with
# many removals (100,000 of a column of ten values took about a second), every such VACUUM
# paid the worker's whole apply, and with the worker stopped it hung. The compaction is now
# queued behind the WAL position of the removals and VACUUM does not wait for it; the disk
# space still comes back once the worker has applied them.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('vacuum_no_wait', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE v (id bigint, k int);
	INSERT INTO v SELECT g, g % 10 FROM generate_series(1, 300000) g;
	CREATE INDEX v_ax ON v USING alexidx (k);
	VACUUM v;
	CHECKPOINT;
	DELETE FROM v WHERE id <= 200000;
});
my $before = $node->safe_psql('postgres', q{SELECT sidecar_bytes FROM alexidx_stats('v_ax')});

my $worker = ax_sidecar_pid($node);
ok($worker, 'the sidecar worker runs');
kill 'STOP', $worker;
my $vac = ax_bg($node, 'postgres', 'vacuum', "VACUUM v;\n");
my ($rc, $out, $err) = ax_bg_finish($vac, 60);
kill 'CONT', $worker;
is($rc, 0, 'a VACUUM that removes 200,000 entries finishes while the worker is stopped') or diag($err);

# the compaction still happens, after the worker has applied the removals
my $shrunk = ax_poll(60, 0.5, sub {
	$node->safe_psql('postgres', qq{SELECT sidecar_bytes < $before / 2 FROM alexidx_stats('v_ax')}) eq 't';
});
ok($shrunk, 'the sidecar gives the space of the removed entries back once the worker has them')
  or diag('sidecar bytes before ' . $before . ', now '
	  . $node->safe_psql('postgres', q{SELECT sidecar_bytes FROM alexidx_stats('v_ax')}));
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM v WHERE k = 3}), '10000', 'the index answers for the rows left');
ax_verify($node, label => 'after the VACUUM', table => 'v', index => 'v_ax', expect_count => 100000);
$node->restart;
ax_verify($node, label => 'after a restart', table => 'v', index => 'v_ax', expect_count => 100000);
$node->stop;
done_testing();
