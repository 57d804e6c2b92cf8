# AlexidxRel.pm: helpers shared by the reliability TAP files (test/t/010_*.pl onward).
#
#   ax_cluster(name)                         a new node on the build under test (ALEXIDX_INSTALL_PATH)
#   ax_node(name, conf => '...', memory => '128MB', ext => 1)  an initialized, started, preloaded node
#   ax_insert_clients(node, n, ntx, ...)     background psql clients inserting unique keys; each
#                                            acknowledged transaction is printed, so the harness
#                                            knows exactly what committed
#   ax_wait_clients(clients, secs)           waits (bounded), kills what is left, parses the output
#   ax_wait_acked(clients, fraction, secs)   waits until that share of their transactions was
#                                            acknowledged: "in the middle of the load", however
#                                            fast the machine commits
#   ax_crash(node)                           SIGKILL the postmaster and every child at once
#   ax_verify(node, ...)                     rows committed / found through the index / found by
#                                            seq scan / lost, diag line, then alexidx_check
#   ax_sidecar(node)                         the sidecar's build records, read offline
#   ax_assert_no_orphans(node, label)        the sidecar holds exactly the live indexes' builds
#   ax_sidecar_plant(node, build, key, block, offset)  writes a wrong entry (server stopped)
#   ax_parallel_settings()                   SETs that make even small index scans parallel
#   ax_create_gate(node), ax_lose_speculative_race(node, insert, winner)
#                                            an INSERT ... ON CONFLICT of key 777 that loses its
#                                            race, deterministically
#
# Every loop here is bounded in count and in time.
package AlexidxRel;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(ax_cluster ax_node ax_standby ax_insert_clients ax_wait_clients ax_crash ax_wait_ready ax_keys
  ax_verify ax_summary ax_sidecar ax_live_builds ax_assert_no_orphans ax_bg ax_bg_finish ax_poll
  ax_sidecar_pid ax_settle ax_file_mode ax_sidecar_plant ax_wait_acked ax_create_gate
  ax_lose_speculative_race ax_parallel_settings);

my $tools_dir = dirname(__FILE__) . '/tools';

# A test that dies leaves its message only in regress_log, and PostgreSQL::Test::Cluster's END
# may then bail out on stopping a node, which hides it: say it in the TAP output too.
$SIG{__DIE__} = sub { diag("died: $_[0]") if defined $^S && !$^S };

# A new PostgreSQL::Test::Cluster on ALEXIDX_INSTALL_PATH, a private installation
# (scripts/private-pg.sh, the sanitizer build) instead of the system's, when it is set: every
# node of a test, standbys and restored backups included, runs the build under test.
sub ax_cluster
{
	my ($name) = @_;
	return PostgreSQL::Test::Cluster->new($name,
		$ENV{ALEXIDX_INSTALL_PATH} ? (install_path => $ENV{ALEXIDX_INSTALL_PATH}) : ());
}

sub ax_node
{
	my ($name, %o) = @_;
	my $node = ax_cluster($name);
	$node->init(%{ $o{init} // {} });
	my $mem = $o{memory} // '128MB';
	my $conf = $o{preload} // 1
	  ? "shared_preload_libraries = 'alexidx'\nalexidx.memory = $mem\nalexidx.sweep_interval = 1\n"
	  : '';
	$node->append_conf('postgresql.conf',
		$conf . "max_connections = 40\nrestart_after_crash = on\n"
		  # the sidecar worker follows the WAL through a replication slot, which needs replica
		  . ($o{init}{allows_streaming} ? '' : "wal_level = replica\n")
		  . ($o{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION alexidx') if $o{ext} // 1;
	note('server: ' . $node->safe_psql('postgres', 'SELECT version()')) if $ENV{ALEXIDX_INSTALL_PATH};
	return $node;
}

# A streaming standby of $primary, made from a new base backup, with the extra settings
# $conf, started.
sub ax_standby
{
	my ($primary, $name, $conf) = @_;
	$primary->backup("${name}_backup");
	my $standby = ax_cluster($name);
	$standby->init_from_backup($primary, "${name}_backup", has_streaming => 1);
	$standby->append_conf('postgresql.conf', $conf) if $conf;
	$standby->start;
	return $standby;
}

# ---------- background clients ----------

# Starts psql on a script; returns a handle for ax_bg_finish.
sub ax_bg
{
	my ($node, $db, $name, $sql, %o) = @_;
	my $dir = $PostgreSQL::Test::Utils::tmp_check;
	my $file = "$dir/$name.sql";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh $sql;
	close $fh;
	my ($out, $err) = ("$dir/$name.out", "$dir/$name.err");
	my @cmd = ($node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr($db), '-f', $file);
	local %ENV = %ENV;
	$ENV{PGOPTIONS} = $o{pgoptions} if $o{pgoptions};
	$ENV{PGAPPNAME} = $o{appname} if $o{appname};
	my $h = IPC::Run::start(\@cmd, '<', \undef, '>', $out, '2>', $err);
	return { h => $h, out => $out, err => $err, name => $name, start => time() };
}

# Waits up to $secs for the client, kills it if it is still running. Returns
# (exit code or -1 if killed, stdout, stderr).
sub ax_bg_finish
{
	my ($c, $secs) = @_;
	my $deadline = time() + ($secs // 60);
	# IPC::Run may die while pumping or reaping a client whose server connection was cut by a
	# crash; that is the client's end, not the test's: note it and treat the client as killed.
	my $rc = eval {
		while ($c->{h}->pumpable && time() < $deadline)
		{
			$c->{h}->pump_nb;
			usleep(50_000);
		}
		if ($c->{h}->pumpable)
		{
			$c->{h}->kill_kill(grace => 2);
			return -1;
		}
		$c->{h}->finish;
		return $c->{h}->result(0);
	};
	if (!defined $rc)
	{
		note("client $c->{name}: IPC::Run: $@");
		eval { $c->{h}->kill_kill(grace => 2) };
		$rc = -1;
	}
	return ($rc, slurp_file($c->{out}), slurp_file($c->{err}));
}

# Polls $sub (returns true when done) every $step seconds for at most $secs; returns its last value.
sub ax_poll
{
	my ($secs, $step, $sub) = @_;
	my $deadline = time() + $secs;
	my $v;
	for (my $i = 0; $i < 100_000; $i++)
	{
		$v = $sub->();
		return $v if $v || time() >= $deadline;
		usleep(int($step * 1_000_000));
	}
	return $v;
}

# ---------- insert clients that report what committed ----------

# Generates a client script over table $table(k bigint, c int): $ntx transactions with unique
# keys from $base on. Kinds: autocommit single row, explicit multi-row transaction, a savepoint
# rolled back inside a committed transaction, a rolled back transaction. After each transaction
# psql prints "C <txid>" (or "R <txid>"), only once the server acknowledged it.
# Returns (script, \@txns); each txn is { keep => [[lo,hi],...], drop => [[lo,hi],...] }.
sub insert_script
{
	my ($table, $client, $base, $ntx, %o) = @_;
	my $sql = '';
	$sql .= "SET alexidx.insert_buffer = $o{insert_buffer};\n" if $o{insert_buffer};
	my @tx;
	my $k = $base;
	my $rng = $o{seed} // $client * 7919 + 1;
	my $rand = sub { $rng = ($rng * 1103515245 + 12345) % 2147483648; return $rng % $_[0]; };
	for my $i (0 .. $ntx - 1)
	{
		my $kind = $rand->(10);
		my $t = { keep => [], drop => [] };
		if ($kind < 5)
		{
			$sql .= "INSERT INTO $table VALUES ($k, $client);\n";
			push @{ $t->{keep} }, [ $k, $k ];
			$k++;
		}
		elsif ($kind < 8)
		{
			my $n = 1 + $rand->($o{max_rows} // 50);
			$sql .= "BEGIN;\nINSERT INTO $table SELECT g, $client FROM generate_series($k, "
			  . ($k + $n - 1) . ") g;\nINSERT INTO $table VALUES (" . ($k + $n) . ", $client);\nCOMMIT;\n";
			push @{ $t->{keep} }, [ $k, $k + $n ];
			$k += $n + 1;
		}
		elsif ($kind < 9)
		{
			$sql .= "BEGIN;\nINSERT INTO $table VALUES ($k, $client);\nSAVEPOINT s;\n"
			  . "INSERT INTO $table SELECT g, $client FROM generate_series(" . ($k + 1) . ", " . ($k + 5) . ") g;\n"
			  . "ROLLBACK TO SAVEPOINT s;\nINSERT INTO $table VALUES (" . ($k + 6) . ", $client);\nCOMMIT;\n";
			push @{ $t->{keep} }, [ $k, $k ], [ $k + 6, $k + 6 ];
			push @{ $t->{drop} }, [ $k + 1, $k + 5 ];
			$k += 7;
		}
		else
		{
			$sql .= "BEGIN;\nINSERT INTO $table SELECT g, $client FROM generate_series($k, " . ($k + 9) . ") g;\nROLLBACK;\n";
			push @{ $t->{drop} }, [ $k, $k + 9 ];
			$k += 10;
		}
		$sql .= "\\echo C $i\n";
		push @tx, $t;
	}
	return ($sql, \@tx, $k);
}

# Starts $n clients; client i uses keys from $o{base} + i * 10_000_000, or from just after client
# i - 1's last key when its script needs more than 10M keys.
sub ax_insert_clients
{
	my ($node, $n, $ntx, %o) = @_;
	my $table = $o{table} // 't';
	my $db = $o{db} // 'postgres';
	my @clients;
	my $next = 0;    # the first key after the previous client's script
	for my $i (0 .. $n - 1)
	{
		my %so = (%o);
		$so{insert_buffer} = $o{insert_buffers}->[$i] if $o{insert_buffers};
		# Each client's keys start 10M apart, or after the previous client's last one when its
		# script needs more (about 10 keys a transaction): a key two clients share would make
		# one's rolled-back or never-run rows look like the other's.
		my $base = ($o{base} // 0) + $i * 10_000_000;
		$base = $next if $next > $base;
		my ($sql, $tx);
		($sql, $tx, $next) = insert_script($table, $i, $base, $ntx, %so,
			seed => ($o{seed} // 1) * 31 + $i);
		my $c = ax_bg($node, $db, ($o{name} // 'ins') . "_$i", $sql);
		$c->{tx} = $tx;
		push @clients, $c;
	}
	return \@clients;
}

sub ax_wait_acked
{
	my ($clients, $fraction, $secs) = @_;
	my $total = 0;
	$total += @{ $_->{tx} } for @$clients;
	return ax_poll($secs // 60, 0.02, sub {
		my $acked = 0;
		$acked += () = slurp_file($_->{out}) =~ /^C /mg for @$clients;
		return $acked >= $total * $fraction;
	});
}

# Waits (at most $secs in all), then returns { acked => {key=>1}, maybe => [[keys of unacked tx]],
# never => {key=>1}, tx => n, acked_tx => n, errors => [stderr lines] }. tx counts the scripts'
# transactions up to where each client may have got (all of them, for a client that finished).
sub ax_wait_clients
{
	my ($clients, $secs) = @_;
	my $deadline = time() + $secs;
	my %r = (acked => {}, maybe => [], never => {}, acked_tx => 0, tx => 0, errors => []);
	for my $c (@$clients)
	{
		my $left = $deadline - time();
		my ($rc, $out, $err) = ax_bg_finish($c, $left > 1 ? $left : 1);
		$c->{rc} = $rc;
		my %done;
		my $last_done = -1;
		while ($out =~ /^C (\d+)$/mg)
		{
			$done{$1} = 1;
			$last_done = $1 if $1 > $last_done;
		}
		push @{ $r{errors} }, grep { /\S/ } split /\n/, $err;
		# psql runs its transactions in order and buffers its output in a file: a killed client
		# loses at most its last few hundred acknowledgements (a few kB). Transactions further
		# on never started; leaving them out keeps a long run's bookkeeping small.
		my $reached = $last_done + 5000;
		$reached = $#{ $c->{tx} } if $reached > $#{ $c->{tx} };
		for my $i (0 .. $reached)
		{
			my $t = $c->{tx}[$i];
			$r{tx}++;
			my @keep = map { $_->[0] .. $_->[1] } @{ $t->{keep} };
			$r{never}{$_} = 1 for map { $_->[0] .. $_->[1] } @{ $t->{drop} };
			if ($done{$i})
			{
				$r{acked_tx}++;
				$r{acked}{$_} = 1 for @keep;
			}
			elsif (@keep)
			{
				push @{ $r{maybe} }, \@keep;
			}
		}
	}
	return \%r;
}

# ---------- crashes ----------

# SIGKILL the postmaster and all its children in one go (a power cut, minus the page cache).
sub ax_crash
{
	my ($node) = @_;
	my $pm = $node->{_pid} or die "node is not running";
	my @kids = split ' ', `ps -o pid= --ppid $pm`;
	note "SIGKILL postmaster $pm and children @kids";
	kill 'KILL', $pm, @kids;
	ax_poll(30, 0.05, sub { !grep { kill 0, $_ } ($pm, @kids) });
	$node->{_pid} = undef;
	return;
}

# Waits until the server accepts queries again (after a crash restart it did by itself).
sub ax_wait_ready
{
	my ($node, $secs) = @_;
	return ax_poll($secs // 60, 0.2, sub {
		my ($ret, $out) = $node->psql('postgres', 'SELECT 1');
		return $ret == 0 && $out eq '1';
	});
}

# The sidecar worker's pid. It has no database connection, so pg_stat_activity does not list
# it: look among the postmaster's children for its process title.
sub ax_sidecar_pid
{
	my ($node) = @_;
	my $pm = $node->{_pid} or return '';
	for (split /\n/, `ps -o pid=,args= --ppid $pm`)
	{
		return $1 if /^\s*(\d+)\s.*alexidx sidecar/;
	}
	return '';
}

# ---------- verification ----------

# The keys of $table, read through a plan of the given kind: 'index' (forced index or
# index-only scan on $index), 'bitmap' (bitmap scan on $index), 'seq'. Checks the plan.
sub ax_keys
{
	my ($node, $db, $table, $index, $how, $where) = @_;
	$where //= 'k >= -9223372036854775808';
	my $set = {
		index => 'SET enable_seqscan = off; SET enable_bitmapscan = off;',
		bitmap => 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off;',
		seq => 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;',
	}->{$how};
	my $q = "SELECT k FROM $table WHERE $where";
	my $plan = $node->safe_psql($db, "$set EXPLAIN (costs off) $q");
	my $want = {
		index => qr/Index (Only )?Scan using $index\b/,
		bitmap => qr/Bitmap Index Scan on $index\b/,
		seq => qr/Seq Scan on $table/
	}->{$how};
	die "plan for $how on $table does not use $index:\n$plan" unless $plan =~ $want;
	my $out = $node->safe_psql($db, "$set $q");
	return [ grep { length } split /\n/, $out ];
}

# A summary of the rows a scan of the given kind returns: "count distinct-ctids md5".
sub ax_summary
{
	my ($node, $db, $table, $index, $how, $where) = @_;
	$where //= 'k >= -9223372036854775808';
	my $set = {
		index => 'SET enable_seqscan = off; SET enable_bitmapscan = off;',
		bitmap => 'SET enable_seqscan = off; SET enable_indexscan = off; SET enable_indexonlyscan = off;',
		seq => 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;',
	}->{$how};
	my $q = "SELECT ctid, k FROM $table WHERE $where";
	my $plan = $node->safe_psql($db, "$set EXPLAIN (costs off) $q");
	my $want = {
		index => qr/Index (Only )?Scan using $index\b/,
		bitmap => qr/Bitmap Index Scan on $index\b/,
		seq => qr/Seq Scan on $table/
	}->{$how};
	die "plan for $how on $table does not use $index:\n$plan" unless $plan =~ $want;
	return $node->safe_psql($db, "$set SELECT count(*) || ' ' || count(DISTINCT ctid) || ' ' ||
		coalesce(md5(string_agg(ctid::text || ':' || coalesce(k::text, 'null'), ',' ORDER BY ctid)), '-')
		FROM ($q) s");
}

# Checks the committed rows against index, bitmap and seq scans and runs alexidx_check. %o:
#   db, table, index, label, acked (hash of keys that must be present), maybe (list of
#   all-or-nothing key lists), never (hash of keys that must be absent), expect_count
sub ax_verify
{
	my ($node, %o) = @_;
	my $db = $o{db} // 'postgres';
	my ($table, $index, $label) = ($o{table} // 't', $o{index} // 't_ax', $o{label});
	my $idx = ax_summary($node, $db, $table, $index, 'index', $o{where});
	my $bmp = ax_summary($node, $db, $table, $index, 'bitmap', $o{where});
	my $seq = ax_summary($node, $db, $table, $index, 'seq', $o{where});
	my ($nidx, $didx) = split / /, $idx;
	my ($nseq) = split / /, $seq;
	my $committed = $o{acked} ? scalar(keys %{ $o{acked} }) : $o{expect_count};
	my $lost = 0;
	if ($o{acked} || $o{never} || $o{maybe})
	{
		my %found;
		$found{$_}++ for grep { length } split /\n/, $node->safe_psql($db,
			"SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT k FROM $table WHERE k >= -9223372036854775808");
		$lost = grep { !$found{$_} } keys %{ $o{acked} // {} };
		if ($o{never})
		{
			is(scalar(grep { $found{$_} } keys %{ $o{never} }), 0, "$label: no rolled-back row visible");
		}
		if ($o{maybe})
		{
			my ($in, $out, $torn) = (0, 0, 0);
			for my $keys (@{ $o{maybe} })
			{
				my $n = grep { $found{$_} } @$keys;
				if ($n == 0) { $out++ } elsif ($n == @$keys) { $in++ } else { $torn++ }
			}
			is($torn, 0, "$label: unacknowledged transactions are all-or-nothing ($in in, $out out)");
		}
	}
	elsif (defined $committed && $committed > $nidx)
	{
		$lost = $committed - $nidx;
	}
	is($lost, 0, "$label: no committed row lost through the index");
	is($idx, $seq, "$label: index scan and seq scan return the same rows");
	is($bmp, $seq, "$label: bitmap scan and seq scan return the same rows");
	is($didx, $nidx, "$label: no row returned twice by the index");
	if (defined $o{expect_count})
	{
		is($nseq, $o{expect_count}, "$label: seq scan finds the expected $o{expect_count} rows");
	}
	# (no_check: the sidecar worker is held on purpose and cannot serve alexidx_check)
	unless ($o{no_check})
	{
		my ($ret, $stdout, $stderr) = $node->psql($db, "SELECT alexidx_check('$index')");
		is($ret, 0, "$label: alexidx_check('$index') passes") or diag($stderr);
	}
	diag(sprintf('%s: rows committed = %s, found through the index = %d, by seq scan = %d, lost = %d',
			$label, $committed // '?', $nidx, $nseq, $lost));
	return { idx => $nidx, seq => $nseq, lost => $lost };
}

# ---------- the sidecar, offline ----------

my $inspect_bin;

sub inspect_bin
{
	return $inspect_bin if $inspect_bin;
	my $bin = "$PostgreSQL::Test::Utils::tmp_check/sidecar_inspect";
	my ($out, $err);
	IPC::Run::run([ 'g++', '-std=c++17', '-O1', '-o', $bin, "$tools_dir/sidecar_inspect.cpp", '-lrocksdb' ],
		'>', \$out, '2>', \$err)
	  or die "could not build sidecar_inspect: $err";
	return $inspect_bin = $bin;
}

# Reads the sidecar (read-only, best with the server stopped). Returns
# { records => { build_id => { state, db, relfilenode, entries } }, orphans => n, entries => n }.
# Builds a tool of test/t/tools once per test file.
my %tool_bins;
sub tool_bin
{
	my ($name) = @_;
	return $tool_bins{$name} if $tool_bins{$name};
	my $bin = "$PostgreSQL::Test::Utils::tmp_check/$name";
	my ($out, $err);
	IPC::Run::run([ 'g++', '-std=c++17', '-O1', '-o', $bin, "$tools_dir/$name.cpp", '-lrocksdb' ],
		'>', \$out, '2>', \$err)
	  or die "could not build $name: $err";
	return $tool_bins{$name} = $bin;
}

sub ax_sidecar_plant
{
	my ($node, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ tool_bin('sidecar_plant'), $node->data_dir . '/pg_alexidx/pgsql_tmp_live', @args ],
		'>', \$out, '2>', \$err)
	  or die "sidecar_plant failed: $err";
}

sub ax_sidecar
{
	my ($node) = @_;
	my ($out, $err);
	IPC::Run::run([ inspect_bin(), $node->data_dir . '/pg_alexidx/pgsql_tmp_live' ], '>', \$out, '2>', \$err)
	  or die "sidecar_inspect failed: $err";
	my %r = (records => {});
	for (split /\n/, $out)
	{
		if (/^record (\d+) state=(\d+) db=(\d+) relfilenode=(\d+) entries=(\d+)/)
		{
			$r{records}{$1} = { state => $2, db => $3, relfilenode => $4, entries => $5 };
		}
		elsif (/^builds=\d+ orphans=(\d+) entries=(\d+)/)
		{
			($r{orphans}, $r{entries}) = ($1, $2);
		}
	}
	return \%r;
}

# Build ids of every alexidx index in every database that has the extension.
sub ax_live_builds
{
	my ($node) = @_;
	my %b;
	my @dbs = split /\n/, $node->safe_psql('postgres',
		"SELECT datname FROM pg_database WHERE datallowconn");
	for my $db (@dbs)
	{
		next unless $node->safe_psql($db,
			"SELECT count(*) FROM pg_extension WHERE extname = 'alexidx'");
		my $ids = $node->safe_psql($db, q{
			SELECT (alexidx_stats(c.oid)).build_id FROM pg_class c JOIN pg_am a ON a.oid = c.relam
			WHERE a.amname = 'alexidx' AND c.relkind = 'i'});
		$b{$_} = $db for grep { length } split /\n/, $ids;
	}
	return \%b;
}

# Waits for the orphan sweep, then checks offline that the sidecar holds exactly the builds of
# the live indexes, and no data outside them. Leaves the node running. %o: secs => how long
# to wait for the sweep (default 10).
sub ax_assert_no_orphans
{
	my ($node, $label, %o) = @_;
	my $live = ax_live_builds($node);
	my $sc;
	# the sweep runs when the worker starts and then every second (alexidx.sweep_interval = 1)
	ax_poll($o{secs} // 10, 1, sub {
		$node->stop;
		$sc = ax_sidecar($node);
		$node->start;
		return join(',', sort keys %{ $sc->{records} }) eq join(',', sort keys %$live);
	});
	is(join(',', sort { $a <=> $b } keys %{ $sc->{records} }),
		join(',', sort { $a <=> $b } keys %$live),
		"$label: the sidecar holds exactly the live indexes' builds");
	is($sc->{orphans}, 0, "$label: no sidecar data without a build record");
	diag("$label: sidecar builds (id state entries) = "
		  . join(' ', map { "$_:$sc->{records}{$_}{state}:$sc->{records}{$_}{entries}" }
			sort keys %{ $sc->{records} }) . "; live builds = " . join(' ', sort keys %$live));
	return $sc;
}

# SETs under which the planner makes even a small index scan parallel (with the workers
# max_parallel_workers_per_gather allows): no setup or tuple transfer cost, no size threshold,
# and a dearer tuple, so that splitting the scan's per-row work pays.
sub ax_parallel_settings
{
	return 'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_index_scan_size = 0; '
	  . 'SET min_parallel_table_scan_size = 0; SET cpu_tuple_cost = 0.1;';
}

# ---------- a speculative insertion that loses its race ----------

# Creates gate(k), the identity, which for key 777 waits on advisory lock 1. An expression index
# on it whose OID is below the arbiter's (created first) stops an insertion of key 777 between
# its heap insert and its conflict check, for as long as the lock is held.
sub ax_create_gate
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE FUNCTION gate(k bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
		BEGIN
		  IF k = 777 THEN
		    PERFORM pg_advisory_lock_shared(1);
		    PERFORM pg_advisory_unlock_shared(1);
		  END IF;
		  RETURN k;
		END $$;
	});
}

# Runs $insert (an INSERT ... ON CONFLICT DO NOTHING of key 777 into a gated table) in an open
# transaction, commits $winner (the conflicting row) while it waits at the gate, then lets it
# go on and lose. Returns the sessions ($ctl, $ins); $ins's transaction is still open.
# With paused => 1, $ctl also holds advisory lock 2, at which the insert's next row waits
# (a pause_at function in $insert): it returns once the insert waits there.
sub ax_lose_speculative_race
{
	my ($node, $insert, $winner, %o) = @_;
	my $what = $o{what} // 'the speculative insertion';
	my $ctl = $node->background_psql('postgres');
	$ctl->query_safe($o{paused} ? 'SELECT pg_advisory_lock(1), pg_advisory_lock(2)' : 'SELECT pg_advisory_lock(1)');
	my $ins = $node->background_psql('postgres');
	$ins->query_safe('BEGIN');
	$ins->query_until(qr/started/, "\\echo started\n$insert;\n");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND objid = 1 AND NOT granted"),
		"$what waits between its heap insert and its conflict check");
	$ctl->query_safe($winner);
	$ctl->query_safe('SELECT pg_advisory_unlock(1)');
	if ($o{paused})
	{
		ok($node->poll_query_until('postgres',
			"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND objid = 2 AND NOT granted"),
			"$what lost its race and the command waits before its next row");
	}
	else
	{
		is($ins->query_safe('SELECT 1'), '1', 'the ON CONFLICT insert finished (DO NOTHING) in an open transaction');
	}
	return ($ctl, $ins);
}

# Lets the server settle: a checkpoint, so a following crash does not replay everything.
sub ax_settle
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'CHECKPOINT');
}

sub ax_file_mode
{
	my ($path) = @_;
	my @st = stat($path) or return;
	return ($st[2] & 07777, $st[4]);
}

1;
