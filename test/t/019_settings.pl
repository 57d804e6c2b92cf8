# Server settings a DBA gets wrong: a value alexidx cannot use stops the server with a
# message naming the setting and its allowed range, instead of a WARNING and a silent default
# (issue 10, item 13). A good value afterwards starts it again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlexidxRel;

my $node = ax_node('settings', memory => '64MB');
is($node->safe_psql('postgres', 'SHOW alexidx.memory'), '64MB', 'a valid alexidx.memory is used');
$node->stop;

# Each refused setting: the server does not start, and its log says why.
for my $case (['alexidx.memory = 8MB', qr/alexidx\.memory.*8MB/],
	['alexidx.memory = lots', qr/alexidx\.memory.*lots/],
	['alexidx.max_indexes = 3', qr/alexidx\.max_indexes.*3/])
{
	my ($setting, $message) = @$case;
	$node->append_conf('postgresql.conf', "$setting\n");
	my $log_start = -s $node->logfile;
	my $started = $node->start(fail_ok => 1);
	ok(!$started, "the server refuses to start with $setting");
	my $log = slurp_file($node->logfile, $log_start);
	like($log, qr/FATAL:.*$message/, "the log names the bad value of $setting");
	like($log, qr/(DETAIL|HINT):.*(between|at least)/, "the log gives the allowed range for $setting");
	$node->stop('immediate') if $started;
	$node->append_conf('postgresql.conf', "alexidx.memory = 64MB\nalexidx.max_indexes = 1024\n");
}

$node->start;
is($node->safe_psql('postgres', 'SHOW alexidx.memory'), '64MB', 'a good value starts the server again');
$node->stop;
done_testing();
