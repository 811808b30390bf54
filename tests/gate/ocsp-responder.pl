#!/usr/bin/perl
# An OCSP responder on 127.0.0.1 for the gate's online revocation test, answering
# for several issuing CAs at one URL (the gate has one ocsp_url; one `openssl ocsp`
# signs for one CA). Each POSTed OCSPRequest goes to `openssl ocsp -reqin` with the
# CA whose issuerKeyHash (SHA-1 of its public key, hex) the request carries; a
# request for any other issuer gets HTTP 404 (the responder does not serve it).
#   ocsp-responder.pl PORTFILE WORKDIR LOG CA=HASH:INDEX:CACERT:SIGNER:SIGNERKEY...
# Listens on an ephemeral port and writes it to PORTFILE once listening (the test
# waits for that file); one line per request to LOG: "<CA> 200" or "- 404".
# Serves requests one at a time until killed.
use strict;
use warnings;
use IO::Socket::INET;

my ($portfile, $work, $log, @cas) = @ARGV;
my @ca = map { my ($name, $rest) = split /=/, $_, 2; [$name, split /:/, $rest] } @cas;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 8,
                                Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
open my $pf, '>', "$portfile.tmp" or die;
print $pf $srv->sockport, "\n";
close $pf;
rename "$portfile.tmp", $portfile or die;
open my $lf, '>>', $log or die;
$lf->autoflush(1);

sub reply {
    my ($c, $status, $body) = @_;
    print $c "HTTP/1.0 $status\r\nContent-Type: application/ocsp-response\r\n",
        "Content-Length: ", length($body), "\r\nConnection: close\r\n\r\n", $body;
}

while (my $c = $srv->accept) {
    binmode $c;
    my ($head, $len) = ('', 0);
    while (defined(my $line = <$c>)) {
        $head .= $line;
        last if $line eq "\r\n";
        $len = $1 if $line =~ /^Content-Length:\s*(\d+)/i;
    }
    my $body = '';
    read($c, $body, $len) if $len > 0 && $len < 65536;
    my ($hit) = grep { index($body, pack('H*', $_->[1])) >= 0 } @ca;
    if (!defined $hit || $head !~ /^POST /) {
        print $lf "- 404\n";
        reply($c, '404 Not Found', '');
        close $c;
        next;
    }
    my ($name, undef, $index, $cacert, $signer, $key) = @$hit;
    open my $rf, '>', "$work/req.der" or die;
    binmode $rf;
    print $rf $body;
    close $rf;
    unlink "$work/resp.der";
    system('openssl', 'ocsp', '-index', $index, '-CA', $cacert, '-rsigner', $signer,
           '-rkey', $key, '-ndays', '1', '-reqin', "$work/req.der",
           '-respout', "$work/resp.der") == 0 or do {
        print $lf "$name 500\n";
        reply($c, '500 Internal Server Error', '');
        close $c;
        next;
    };
    open my $in, '<', "$work/resp.der" or die;
    binmode $in;
    local $/;
    my $resp = <$in>;
    close $in;
    print $lf "$name 200\n";
    reply($c, '200 OK', $resp);
    close $c;
}
