# Regression test: flushing an insert buffer while the WAL insert position sits exactly on a
# page boundary. The flush makes the WAL of the buffered heap tuples durable first; asking for
# GetXLogInsertRecPtr() there (page start + header size, past the end of generated WAL) made
# XLogFlush fail with "xlog flush request ... is not satisfied" and aborted the transaction.
# Seen under load right after a crash restart (010_crash_load); reproduced here on purpose by
# padding the WAL with logical messages until a record ends on a page boundary.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('wal_boundary', conf => "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (k bigint, c int);
	INSERT INTO t SELECT g, 0 FROM generate_series(1, 1000) g;
	CREATE INDEX t_ax ON t USING alexidx (k);
	-- Pads the WAL with non-transactional logical messages until the next record would start
	-- a page; returns true when it got there.
	CREATE FUNCTION wal_to_page_boundary() RETURNS boolean LANGUAGE plpgsql AS $$
	DECLARE
		pos bigint;
		rem int;
		ov int := 55;
	BEGIN
		FOR i IN 1 .. 200 LOOP
			pos := pg_current_wal_insert_lsn() - '0/0'::pg_lsn;
			IF pos % 8192 = 24 THEN
				RETURN true;
			END IF;
			rem := 8192 - (pos % 8192)::int;
			IF rem < 400 + ov THEN
				PERFORM pg_logical_emit_message(false, 'p', repeat('x', 1000));
			ELSE
				PERFORM pg_logical_emit_message(false, 'p', repeat('x', rem - ov));
				pos := pg_current_wal_insert_lsn() - '0/0'::pg_lsn;
				IF pos % 8192 <> 24 THEN
					-- learn the record overhead from the miss
					ov := ov + (pos % 8192)::int;
				END IF;
			END IF;
		END LOOP;
		RETURN false;
	END $$;
});

my ($ok, $fail, $hit) = (0, 0, 0);
my @errors;
for my $i (1 .. 10)
{
	# the insert stays in the backend's buffer; the scan flushes it right after the padding
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		BEGIN;
		INSERT INTO t VALUES (100000 + $i, 1);
		SELECT wal_to_page_boundary();
		SELECT count(*) FROM t WHERE k = 100000 + $i;
		COMMIT;
	}, on_error_stop => 1);
	$hit++ if $out =~ /^t$/m;
	if ($ret == 0 && $out =~ /^1$/m) { $ok++ }
	else { $fail++; push @errors, $err }
}
ok($hit > 0, "the WAL was padded to a page boundary before the flush ($hit of 10 times)");
is($fail, 0, 'flushing the insert buffer at a WAL page boundary does not fail') or diag($errors[0]);
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE k > 100000');
is($n, $ok, 'every committed row is there');
ax_verify($node, label => 'WAL page boundary', expect_count => 1000 + $ok);
$node->stop;
done_testing();
