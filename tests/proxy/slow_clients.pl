#!/usr/bin/env perl
# Slow clients ("slowloris") for the proxy tests: N connections from one source address
# that each send a request one byte per tick and never finish it, reopened whenever the
# server closes them, for a number of seconds.
#   slow_clients.pl PORT SOURCE_ADDR N SECONDS
# Half of them dribble the request headers, half send the headers of a POST /ocsp at once
# and dribble its body. At the end it prints one line:
#   opened=<connections opened> cut=<closed by the server> longest_ms=<longest life of one>
# where a connection's life runs from its open to the server closing it (or to the end).
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my ($port, $src, $n, $secs) = @ARGV;
die "usage: slow_clients.pl PORT SOURCE_ADDR N SECONDS\n" unless defined $secs;
$SIG{PIPE} = 'IGNORE';
my $tick = 0.5;
my $header = "GET /v1/rim/NV_RIM_A HTTP/1.1\r\nHost: proxy\r\nX-Slow: " . ('a' x 4000);
my $post = "POST /ocsp HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/ocsp-request\r\n"
    . "Content-Length: 1000\r\n\r\n";
my ($opened, $cut, $longest) = (0, 0, 0);
my @slot = map { {sock => undef} } 1 .. $n;

sub open_slot {
    my ($i) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        LocalAddr => $src, Proto => 'tcp', Timeout => 2);
    $slot[$i] = {sock => undef};
    return unless $s;
    $opened++;
    $s->autoflush(1);
    my $body_mode = $i % 2;
    syswrite($s, $post) if $body_mode; # the headers at once, then the body byte by byte
    $slot[$i] = {sock => $s, opened => time, at => 0, body => $body_mode};
}

sub close_slot {
    my ($i, $by_server) = @_;
    my $life = time - $slot[$i]{opened};
    $longest = $life if $life > $longest;
    $cut++ if $by_server;
    close($slot[$i]{sock});
    $slot[$i] = {sock => undef};
}

# Whether the server has closed the connection (EOF or an error on a non-blocking read).
sub server_closed {
    my ($s) = @_;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    return 0 unless select(my $rout = $rin, undef, undef, 0) > 0;
    my $buf;
    my $r = sysread($s, $buf, 4096);
    return !defined $r || $r == 0; # an answer (e.g. a 4xx) leaves it open until EOF
}

my $end = time + $secs;
while (time < $end) {
    for my $i (0 .. $n - 1) {
        open_slot($i) unless $slot[$i]{sock};
        my $c = $slot[$i];
        next unless $c->{sock};
        if (server_closed($c->{sock})) {
            close_slot($i, 1);
            next;
        }
        my $byte = $c->{body} ? 'x' : substr($header, $c->{at} % length($header), 1);
        $c->{at}++;
        close_slot($i, 1) unless defined syswrite($c->{sock}, $byte);
    }
    sleep $tick;
}
for my $i (0 .. $n - 1) {
    close_slot($i, 0) if $slot[$i]{sock};
}
printf "opened=%d cut=%d longest_ms=%d\n", $opened, $cut, $longest * 1000;
