# A server that replayed WAL as a standby and then runs as a primary while its sidecar is
# behind that WAL (a standby started again without standby.signal, or promoted while its
# worker lagged or did not run) must still make the builds that WAL created: on a primary a
# missing build record usually means a dropped index, but here the other server logged the
# build, and no record of it was ever written on this one.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\n");
# its worker follows none of the WAL below (tests only; no scan on the standby asks it to)
my $standby = ax_standby($primary, 'standby', "alexidx.hold_sidecar_apply = on\n");

$primary->safe_psql('postgres', q{
	CREATE TABLE h (k bigint);
	INSERT INTO h SELECT g FROM generate_series(1, 3000) g;
	CREATE INDEX h_ax ON h USING alexidx (k);
	INSERT INTO h SELECT g FROM generate_series(3001, 4000) g;
});
my $target = $primary->lsn('insert');
$primary->wait_for_catchup($standby, 'replay', $target);
is($standby->safe_psql('postgres', "SELECT applied_lsn < '$target' FROM alexidx_status()"), 't',
	'the standby replayed the build, its sidecar did not follow');

# the old primary goes away; the standby starts again as a primary, without standby.signal
$primary->stop;
$standby->stop;
unlink($standby->data_dir . '/standby.signal') or die "standby.signal: $!";
$standby->append_conf('postgresql.conf', "alexidx.hold_sidecar_apply = off\n");
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'it runs as a primary');
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
my ($rc, $out, $err) = $standby->psql('postgres', "$force SELECT count(*), sum(k) FROM h WHERE k > 0");
is($out, '4000|8002000', "the index made from the other server's WAL answers $err");
$standby->safe_psql('postgres', 'INSERT INTO h SELECT g FROM generate_series(4001, 4100) g');
is($standby->safe_psql('postgres', "$force SELECT count(*) FROM h WHERE k > 3990"), '110',
	'and takes new rows');
ax_verify($standby, label => 'on the new primary', index => 'h_ax', expect_count => 4100,
	table => 'h');
$standby->stop;
done_testing();
