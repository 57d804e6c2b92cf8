# pg_repack rebuilds a table and its indexes online and swaps the relation files under the
# original names (issue 15, item 5). With an alexidx index and writers running meanwhile, the
# repacked index equals a seq scan, survives a restart, and the sidecar keeps only the new
# build. Skipped where pg_repack is not installed for the server under test (the ASan build).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('repack', conf => "autovacuum = off\n");
plan skip_all => 'pg_repack is not installed for this server'
  unless $node->safe_psql('postgres', "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_repack'");
my $repack = $node->installed_command('pg_repack');
plan skip_all => 'no pg_repack client next to this server'
  unless system("command -v '$repack' > /dev/null 2>&1") == 0;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_repack;
	CREATE TABLE t (k bigint, c int, id bigserial PRIMARY KEY);
	INSERT INTO t (k, c) SELECT g, 0 FROM generate_series(1, 200000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	DELETE FROM t WHERE k % 3 = 0;
});
my $before = $node->safe_psql('postgres', "SELECT (alexidx_stats('t_ax')).build_id");
my $clients = ax_insert_clients($node, 2, 300, base => 10_000_000, name => 'during_repack');
$node->command_ok([ $repack, '-d', $node->connstr('postgres'), '-t', 't' ], 'pg_repack of a table with an alexidx index');
my $r = ax_wait_clients($clients, 120);
is($r->{acked_tx}, $r->{tx}, "every write during the repack committed ($r->{acked_tx} transactions)");
isnt($node->safe_psql('postgres', "SELECT (alexidx_stats('t_ax')).build_id"), $before,
	'the index has the build pg_repack made');
my %acked = (%{ $r->{acked} }, map { ($_ => 1) } grep { $_ % 3 } 1 .. 200000);
ax_verify($node, label => 'after pg_repack with writers', acked => \%acked, never => $r->{never});
$node->restart;
ax_verify($node, label => 'after pg_repack and a restart', acked => \%acked, never => $r->{never});
ax_assert_no_orphans($node, 'after pg_repack');
$node->stop;
done_testing();
