# uuid keys (two words per key) through every path that stores or moves entries: the build's
# SST files, the WAL (packed with key_lo), the sidecar's singles, runs and tombstones, the
# compaction that rewrites runs, the arena image of a clean restart, the reload after a crash,
# and a streaming standby that builds its sidecar from the WAL. After each, the index equals a
# seq scan row for row, and alexidx_check passes. A group of keys shares its leading 8 bytes,
# so that anything keyed on them alone would mix its rows up.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $primary = ax_node('uuid_primary', init => { allows_streaming => 1 }, conf => "autovacuum = off\nlog_min_messages = debug1\n");
$primary->backup('bk');
my $standby = ax_cluster('uuid_standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "alexidx.sweep_interval = 1\n");
$standby->start;

my $all = "k >= '00000000-0000-0000-0000-000000000000'";
my $expect = 0;
sub check
{
	my ($node, $label) = @_;
	ax_verify($node, table => 'u', index => 'u_ax', where => $all, label => $label, expect_count => $expect);
	# a range inside the shared-prefix group, forced through the index, equals a seq scan
	my $q = q{SELECT count(*), md5(string_agg(k::text, ',' ORDER BY k)) FROM u
		WHERE k > '0123456789abcdef4000000000000000' AND k < '0123456789abcdefc000000000000000'};
	is($node->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
		$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $q"),
		"$label: a range within one leading word equals a seq scan");
}

$primary->safe_psql('postgres', q{
	CREATE TABLE u (k uuid, v int);
	INSERT INTO u SELECT md5(g::text)::uuid, g FROM generate_series(1, 30000) g;
	INSERT INTO u SELECT ('0123456789abcdef' || substr(md5('c' || g), 1, 16))::uuid, 100000 + g
	  FROM generate_series(1, 5000) g;
	INSERT INTO u VALUES (NULL, -1);
	CREATE INDEX u_ax ON u USING alexidx (k);
});
$expect = 35000;    # and one NULL, outside the checked range
# after the build: inserts (WAL records with key_lo), some of them into the shared group
$primary->safe_psql('postgres', q{
	INSERT INTO u SELECT md5('w' || g)::uuid, 200000 + g FROM generate_series(1, 4000) g;
	INSERT INTO u SELECT ('0123456789abcdef' || substr(md5('e' || g), 1, 16))::uuid, 300000 + g
	  FROM generate_series(1, 1000) g;
});
$expect += 5000;
check($primary, 'primary, after the build and inserts');

# ---- a crash: the trees reload from the sidecar (runs of the build, singles of the inserts) ----
ax_crash($primary);
$primary->start;
check($primary, 'primary, after a crash');

# ---- large deletes and VACUUM (tombstones, then the compaction that rewrites the runs) ----
$primary->safe_psql('postgres', 'DELETE FROM u WHERE v % 5 <> 0');
$primary->safe_psql('postgres', 'VACUUM u');
$expect = 8000;    # v % 5 = 0 of each group: 6000 + 1000 + 800 + 200
check($primary, 'primary, after deletes and VACUUM');
ok(ax_poll(60, 0.3, sub { $primary->log_contains(qr/compaction of build \d+ done/) }),
	'the sidecar rewrote the runs without the deleted entries');
check($primary, 'primary, after the compaction');
$primary->safe_psql('postgres', q{
	INSERT INTO u SELECT ('0123456789abcdef' || substr(md5('f' || g), 1, 16))::uuid, 400000 + g
	  FROM generate_series(1, 1000) g;
});
$expect += 1000;

# ---- an unlogged uuid index: no WAL, so its writes go to the worker as requests (wide ones),
# 100,000 rows after the build arrive in staged parts, and VACUUM's removals as requests too ----
$primary->safe_psql('postgres', q{
	CREATE UNLOGGED TABLE uu (k uuid, v int);
	CREATE INDEX uu_ax ON uu USING alexidx (k);
	INSERT INTO uu SELECT ('0123456789abcdef' || substr(md5('u' || g), 1, 16))::uuid, g FROM generate_series(1, 100000) g;
	DELETE FROM uu WHERE v % 4 = 0;
	VACUUM uu;
});
ax_verify($primary, table => 'uu', index => 'uu_ax', where => $all, label => 'unlogged uuid index', expect_count => 75000);

# ---- a clean restart (the arena image), one without it (trees from the sidecar), then a
# crash (the sidecar after compaction; the unlogged table comes back empty) ----
$primary->restart;
check($primary, 'primary, after a clean restart');
ax_verify($primary, table => 'uu', index => 'uu_ax', where => $all, label => 'unlogged, after a clean restart', expect_count => 75000);
$primary->append_conf('postgresql.conf', "alexidx.keep_trees = off\n");
$primary->restart;
check($primary, 'primary, after a clean restart without the arena image');
ax_verify($primary, table => 'uu', index => 'uu_ax', where => $all, label => 'unlogged, trees from the sidecar', expect_count => 75000);
ax_crash($primary);
$primary->start;
check($primary, 'primary, after the second crash');
ax_verify($primary, table => 'uu', index => 'uu_ax', where => $all, label => 'unlogged, after a crash (emptied)', expect_count => 0);

# ---- the standby: its sidecar came from the WAL alone ----
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
my $standby_seen = $standby->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM u WHERE $all");
is($standby_seen, $expect, 'standby: every row through the index');
my $q = q{SELECT md5(string_agg(k::text || ':' || v, ',' ORDER BY k, v)) FROM u
	WHERE k BETWEEN '0123456789abcdef0000000000000000' AND '0123456789abcdefffffffffffffffff'};
is($standby->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
	$primary->safe_psql('postgres', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $q"),
	'standby: the shared-prefix group through the index equals the primary\'s seq scan');
$standby->restart;
is($standby->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
	$primary->safe_psql('postgres', "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; $q"),
	'standby, after a restart (trees from its sidecar): the same');

# ---- CREATE DATABASE ... TEMPLATE copies the uuid index's build ----
$primary->safe_psql('postgres', 'CREATE DATABASE copied TEMPLATE postgres');
ax_verify($primary, db => 'copied', table => 'u', index => 'u_ax', where => $all, label => 'uuid index in a template copy',
	expect_count => $expect);

$standby->stop;
$primary->stop;
done_testing();
