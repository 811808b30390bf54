#!/usr/bin/perl
# Deterministic mutants of the RIM fixtures for the xmlsec1 differential test.
#
#   mutate_rims.pl FIXTURES_DIR OUT_DIR
#
# Reads every *.xml under FIXTURES_DIR, writes text-level mutants of each to
# OUT_DIR and a manifest OUT_DIR/manifest.tsv with one line per mutant:
#
#   file <TAB> at (YYYY-MM-DDTHH:MM:SSZ) <TAB> mutation <TAB> source
#
# Nothing is random: the same fixtures always give the same mutants. The
# verification time of each mutant comes from the certificates in the
# document's own KeyInfo (their common validity window): the pinned times of
# tests/fixtures/PROVENANCE.md (2024-06-01, 2026-06-01) when one of them lies
# inside the window, else the middle of the window. Never the wall clock.
#
# The expected verdict is not recorded here: the oracle (xmlsec1 --verify)
# decides, and the runner compares. A mutation that does not apply to a
# document (its pattern is absent) is skipped and noted on stderr.
#
# Four representative documents get every mutation kind; the others get the
# core kinds (see @core). Core Perl only.
use strict;
use warnings;
use File::Find;
use File::Path qw(make_path);
use MIME::Base64 qw(decode_base64 encode_base64);
use Math::BigInt;
use Time::Local qw(timegm);

my ($fixdir, $outdir) = @ARGV;
die "usage: $0 FIXTURES_DIR OUT_DIR\n" unless defined $outdir && -d $fixdir;
make_path($outdir);

my $DS   = 'http://www.w3.org/2000/09/xmldsig#';
my $ISO  = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd';
my $C14N11 = 'http://www.w3.org/2006/12/xml-c14n11';
my $P384_N = Math::BigInt->from_hex(
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973');

# Pinned verification times (PROVENANCE.md); the first inside the window wins.
my @PINNED = ('2024-06-01T00:00:00Z', '2026-06-01T00:00:00Z');

# Documents that get every mutation kind (relative to FIXTURES_DIR).
my %DEEP = map { $_ => 1 } (
    'rims/valid/NV_GPU_DRIVER_GH100_550.144.03.xml',
    'nvswitch/ls10_96.10.55.00.01/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml',
    'gpu/h100_545.00/rims/NV_GPU_DRIVER_GH100_545.00.xml',
    'rims/valid/NV_GPU_VBIOS_1010_0205_862_9600740020.xml',
);

# ---------------------------------------------------------------- time, DER --

sub iso_of {
    my ($t) = @_;
    my @g = gmtime($t);
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $g[5] + 1900, $g[4] + 1, @g[3, 2, 1, 0]);
}

sub time_of_iso {
    my ($s) = @_;
    $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or die "bad time $s\n";
    return timegm($6, $5, $4, $3, $2 - 1, $1);
}

# (tag, content start, content length, next element) of the DER element at $p.
sub der_el {
    my ($d, $p) = @_;
    die "DER: truncated\n" if $p + 2 > length $d;
    my $tag = ord substr($d, $p, 1);
    my $b = ord substr($d, $p + 1, 1);
    my $q = $p + 2;
    my $len = $b;
    if ($b & 0x80) {
        $len = 0;
        for (1 .. ($b & 0x7f)) { $len = $len * 256 + ord substr($d, $q++, 1) }
    }
    die "DER: overrun\n" if $q + $len > length $d;
    return ($tag, $q, $len, $q + $len);
}

sub der_time {
    my ($tag, $s) = @_;
    my ($y, $rest);
    if ($tag == 0x17) {    # UTCTime YYMMDDHHMMSSZ
        $s =~ /^(\d\d)(\d{10})Z$/ or die "DER: UTCTime $s\n";
        ($y, $rest) = ($1 >= 50 ? 1900 + $1 : 2000 + $1, $2);
    } elsif ($tag == 0x18) {    # GeneralizedTime YYYYMMDDHHMMSSZ
        $s =~ /^(\d{4})(\d{10})Z$/ or die "DER: GeneralizedTime $s\n";
        ($y, $rest) = ($1, $2);
    } else {
        die "DER: time tag $tag\n";
    }
    my ($mo, $d, $h, $mi, $se) = unpack('A2A2A2A2A2', $rest);
    return timegm($se, $mi, $h, $d, $mo - 1, $y);
}

# (notBefore, notAfter) of a base64 certificate.
sub cert_window {
    my ($b64) = @_;
    my $der = decode_base64($b64);
    my (undef, $c) = der_el($der, 0);          # Certificate
    my (undef, $t) = der_el($der, $c);         # TBSCertificate
    my ($tag, undef, undef, $n) = der_el($der, $t);
    ($tag, undef, undef, $n) = der_el($der, $n) if $tag == 0xa0;    # [0] version, then serial
    (undef, undef, undef, $n) = der_el($der, $n);                   # signature algorithm
    (undef, undef, undef, $n) = der_el($der, $n);                   # issuer
    my (undef, $v) = der_el($der, $n);                              # validity
    my ($t1, $s1, $l1, $n1) = der_el($der, $v);
    my ($t2, $s2, $l2) = der_el($der, $n1);
    return (der_time($t1, substr($der, $s1, $l1)), der_time($t2, substr($der, $s2, $l2)));
}

# ------------------------------------------------------------- text helpers --

sub certs_of {
    my ($t) = @_;
    return ($t =~ m{<ds:X509Certificate>(.*?)</ds:X509Certificate>}gs);
}

sub with_certs {
    my ($t, @certs) = @_;
    my $x = '<ds:X509Data>' . join('', map { "<ds:X509Certificate>$_</ds:X509Certificate>" } @certs)
        . '</ds:X509Data>';
    $t =~ s{<ds:X509Data>.*?</ds:X509Data>}{$x}s or return undef;
    return $t;
}

sub sig_block {
    my ($t) = @_;
    $t =~ m{(<ds:Signature\b.*?</ds:Signature>)}s or return ();
    return ($`, $1, $');
}

sub b64 { my $s = encode_base64($_[0], ''); return $s }

# Replace the text of element $el (e.g. 'ds:SignatureValue') through $f.
sub edit_text {
    my ($t, $el, $f) = @_;
    $t =~ s{(<$el>)(.*?)(</$el>)}{$1 . $f->($2) . $3}se or return undef;
    return $t;
}

sub flip_b64 {
    my ($s, $byte, $bit) = @_;
    my $raw = decode_base64($s);
    $byte = length($raw) + $byte if $byte < 0;
    substr($raw, $byte, 1) = chr(ord(substr($raw, $byte, 1)) ^ (1 << $bit));
    return b64($raw);
}

sub wrap_b64 {
    my ($s, $w, $sep) = @_;
    (my $c = $s) =~ s/\s+//g;
    return join($sep, $c =~ /(.{1,$w})/g);
}

sub der_int {
    my ($bytes) = @_;
    $bytes =~ s/^\x00+//;
    $bytes = "\x00" if $bytes eq '';
    $bytes = "\x00$bytes" if ord($bytes) & 0x80;
    return "\x02" . chr(length $bytes) . $bytes;
}

# Apply $f to the first match of $re (in list context: a substitution body).
sub sub1 {
    my ($t, $re, $f) = @_;
    $t =~ s{$re}{$f->()}e or return undef;
    return $t;
}

sub first_active_resource_re { qr{<ns0:Resource [^>]*active="True"[^>]*/>} }

# ---------------------------------------------------------------- mutations --
# Each kind: [name, sub(text, ctx) -> new text or undef, time selector].
# Time selectors: 'in' (inside the window), 'out' (outside), 'nb-1', 'nb',
# 'na-1', 'na', 'na+1' (the window's boundaries and one second either side;
# OpenSSL, hence xmlsec1, treats notBefore as inclusive and notAfter as
# exclusive).

my $foreign_leaf;    # the leaf of the document signed under the debug root, if present

my @kinds = (
    # --- controls
    ['identity',      sub { $_[0] }, 'in'],
    ['identity_out',  sub { $_[0] }, 'out'],
    ['time_nb-1s',    sub { $_[0] }, 'nb-1'],
    ['time_nb',       sub { $_[0] }, 'nb'],
    ['time_na-1s',    sub { $_[0] }, 'na-1'],
    ['time_na',       sub { $_[0] }, 'na'],
    ['time_na+1s',    sub { $_[0] }, 'na+1'],

    # --- attribute edits (signed content)
    ['attr_hash_digit', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*active="True"[^>]*?ns2:Hash0=")([0-9a-f])},
            sub { $1 . ($2 eq '0' ? '1' : '0') }) }, 'in'],
    ['attr_hash_upper', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*active="True"[^>]*?ns2:Hash0=")((?=[0-9a-f]{96}")[0-9]*[a-f][0-9a-f]*)},
            sub { $1 . uc $2 }) }, 'in'],
    ['attr_colloquialVersion', sub {
        sub1($_[0], qr{(colloquialVersion=")([^"]*)"}, sub { "$1$2.1\"" }) }, 'in'],
    ['attr_index', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*?index=")(\d+)"}, sub { $1 . ($2 + 100) . '"' }) }, 'in'],
    ['attr_active_flip', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*?active=")True"}, sub { "$1False\"" }) }, 'in'],
    ['attr_active_case', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*?active=")True"}, sub { "$1true\"" }) }, 'in'],
    ['attr_tagId', sub {
        sub1($_[0], qr{(tagId=")([0-9a-f])}, sub { $1 . ($2 eq 'a' ? 'b' : 'a') }) }, 'in'],
    ['attr_remove_name', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*?) name="[^"]*"}, sub { $1 }) }, 'in'],
    ['attr_remove_alternatives', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*?) alternatives="[^"]*"}, sub { $1 }) }, 'in'],
    ['attr_remove_firmware_id', sub {
        sub1($_[0], qr{ ns1:FirmwareManufacturerId="[^"]*"}, sub { '' }) }, 'in'],
    ['attr_add_entity', sub {
        sub1($_[0], qr{<ns0:Entity }, sub { '<ns0:Entity extra="1" ' }) }, 'in'],
    ['attr_reorder_meta', sub {    # c14n sorts attributes: signed bytes unchanged
        sub1($_[0], qr{<ns0:Meta (xmlns:ns1="[^"]*") ((?:[\w:]+="[^"]*" ?)+)/>}, sub {
            my ($ns, $attrs) = ($1, $2);
            my @a = ($attrs =~ /([\w:]+="[^"]*")/g);
            "<ns0:Meta $ns " . join(' ', reverse @a) . '/>' }) }, 'in'],
    ['attr_single_quotes', sub {
        sub1($_[0], qr{<ns0:Entity name="([^"]*)" role="([^"]*)"}, sub { "<ns0:Entity name='$1' role='$2'" }) }, 'in'],
    ['attr_charref', sub {    # name="GH100" written with a character reference: same infoset
        sub1($_[0], qr{(<ns0:Entity name=")N}, sub { "$1&#78;" }) }, 'in'],

    # --- element structure (signed content)
    ['reorder_resources', sub {
        sub1($_[0], qr{(<ns0:Resource [^>]*/>)(\s+)(<ns0:Resource [^>]*/>)}, sub { "$3$2$1" }) }, 'in'],
    ['reorder_resource_last_first', sub {
        my $t = $_[0];
        $t =~ m{\A(.*?)(<ns0:Resource [^>]*/>)(.*)(<ns0:Resource [^>]*/>)(.*)\z}s or return undef;
        "$1$4$3$2$5" }, 'in'],
    ['dup_resource', sub {
        sub1($_[0], first_active_resource_re(), sub { my $r = $&; "$r\n        $r" }) }, 'in'],
    ['dup_resource_renumbered', sub {    # a new, distinct active index
        sub1($_[0], qr{(<ns0:Resource [^>]*?index=")(\d+)("[^>]*active="True"[^>]*/>)},
            sub { "$1$2$3\n        $1" . ($2 + 200) . $3 }) }, 'in'],
    ['remove_resource', sub {
        sub1($_[0], qr{\n\s*<ns0:Resource [^>]*/>}, sub { '' }) }, 'in'],
    ['dup_meta', sub {
        sub1($_[0], qr{(\s*)(<ns0:Meta [^>]*/>)}, sub { "$1$2$1$2" }) }, 'in'],
    ['dup_entity', sub {
        sub1($_[0], qr{(\s*)(<ns0:Entity [^>]*/>)}, sub { "$1$2$1$2" }) }, 'in'],
    ['dup_payload_empty', sub {
        sub1($_[0], qr{(</ns0:Payload>)}, sub { "$1\n    <ns0:Payload/>" }) }, 'in'],
    ['extra_element_after_sig', sub {
        sub1($_[0], qr{(</ds:Signature>)}, sub { "$1<ns0:Link href=\"x\"/>" }) }, 'in'],
    ['root_renamed', sub {
        my $t = $_[0];
        $t =~ s{^<SoftwareIdentity }{<SoftwareIdentityX } or return undef;
        $t =~ s{</SoftwareIdentity>}{</SoftwareIdentityX>} or return undef;
        $t }, 'in'],

    # --- SignedInfo / References
    ['extra_reference', sub {
        sub1($_[0], qr{(<ds:Reference\b.*?</ds:Reference>)}s, sub { "$1$1" }) }, 'in'],
    ['extra_reference_uri_id', sub {
        sub1($_[0], qr{(<ds:Reference\b.*?</ds:Reference>)}s, sub {
            my $r = $1; (my $r2 = $r) =~ s/URI=""/URI="#x"/; "$r$r2" }) }, 'in'],
    ['reference_uri_xpointer', sub {
        sub1($_[0], qr{<ds:Reference URI=""}, sub { '<ds:Reference URI="#xpointer(/)"' }) }, 'in'],
    ['reference_uri_missing', sub {
        sub1($_[0], qr{<ds:Reference URI=""}, sub { '<ds:Reference' }) }, 'in'],
    ['reference_removed', sub {
        sub1($_[0], qr{<ds:Reference\b.*?</ds:Reference>}s, sub { '' }) }, 'in'],

    # --- Signature placement and multiplicity
    ['second_signature_end', sub {
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        "$pre$sig$sig$post" }, 'in'],
    ['second_signature_in_payload', sub {
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        my $t = "$pre$sig$post";
        sub1($t, qr{</ns0:Payload>}, sub { "$sig</ns0:Payload>" }) }, 'in'],
    ['sig_in_object', sub {    # a copy of the Signature inside an unsigned ds:Object
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        (my $inner = $sig) =~ s{</ds:Signature>\z}{<ds:Object>$sig</ds:Object></ds:Signature>};
        "$pre$inner$post" }, 'in'],
    ['object_with_payload', sub {    # unsigned measurements smuggled into the Signature
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        my ($payload) = ($pre =~ m{(<ns0:Payload\b.*?</ns0:Payload>)}s) or return undef;
        (my $inner = $sig) =~ s{</ds:Signature>\z}{<ds:Object>$payload</ds:Object></ds:Signature>};
        "$pre$inner$post" }, 'in'],
    ['sig_move_first', sub {    # first child of the root: same digest, same in-scope namespaces
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        my $t = "$pre$post";
        sub1($t, qr{\A(<SoftwareIdentity\b[^>]*>)}, sub { "$1$sig" }) }, 'in'],
    ['sig_move_before_meta', sub {
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        sub1("$pre$post", qr{<ns0:Meta }, sub { "$sig<ns0:Meta " }) }, 'in'],
    ['sig_move_into_entity', sub {
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        sub1("$pre$post", qr{(<ns0:Entity [^>]*?)/>}, sub { "$1>$sig</ns0:Entity>" }) }, 'in'],
    ['sig_move_into_payload', sub {    # Payload declares xmlns:SHA384: SignedInfo's c14n changes
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        sub1("$pre$post", qr{</ns0:Payload>}, sub { "$sig</ns0:Payload>" }) }, 'in'],
    ['sig_move_into_meta', sub {
        my ($pre, $sig, $post) = sig_block($_[0]) or return undef;
        sub1("$pre$post", qr{(<ns0:Meta [^>]*?)/>}, sub { "$1>$sig</ns0:Meta>" }) }, 'in'],
    ['sig_id_attr', sub {
        sub1($_[0], qr{<ds:Signature }, sub { '<ds:Signature Id="sig1" ' }) }, 'in'],
    ['sig_unknown_child', sub {
        sub1($_[0], qr{</ds:KeyInfo>}, sub { '</ds:KeyInfo><ds:Foo/>' }) }, 'in'],
    ['keyinfo_removed', sub {
        sub1($_[0], qr{<ds:KeyInfo>.*?</ds:KeyInfo>}s, sub { '' }) }, 'in'],
    ['keyinfo_keyname', sub {
        sub1($_[0], qr{<ds:KeyInfo>}, sub { '<ds:KeyInfo><ds:KeyName>HCC RIM L4 Signer</ds:KeyName>' }) }, 'in'],
    ['keyinfo_unknown_child', sub {
        sub1($_[0], qr{</ds:KeyInfo>}, sub { '<x:Hint xmlns:x="urn:example:x">1</x:Hint></ds:KeyInfo>' }) }, 'in'],
    ['keyinfo_pi', sub {
        sub1($_[0], qr{<ds:KeyInfo>}, sub { '<ds:KeyInfo><?hint x?>' }) }, 'in'],

    # --- namespaces
    ['ns_rename_ns0', sub {
        (my $t = $_[0]) =~ s/\bns0:/nsq:/g; $t =~ s/xmlns:ns0=/xmlns:nsq=/ or return undef; $t }, 'in'],
    ['ns_rename_ds', sub {
        (my $t = $_[0]) =~ s{(</?)ds:}{$1dsig:}g; $t =~ s/xmlns:ds=/xmlns:dsig=/ or return undef; $t }, 'in'],
    ['ns_default_ds', sub {    # ds elements in the default namespace
        (my $t = $_[0]) =~ s{(</?)ds:}{$1}g; $t =~ s/xmlns:ds=/xmlns=/ or return undef; $t }, 'in'],
    ['ns_rename_ds_keyinfo_only', sub {
        sub1($_[0], qr{<ds:KeyInfo>(.*?)</ds:KeyInfo>}s, sub {
            (my $k = $1) =~ s{(</?)ds:}{$1dsk:}g;
            "<dsk:KeyInfo xmlns:dsk=\"$DS\">$k</dsk:KeyInfo>" }) }, 'in'],
    ['ns_default_ds_keyinfo_only', sub {
        sub1($_[0], qr{<ds:KeyInfo>(.*?)</ds:KeyInfo>}s, sub {
            (my $k = $1) =~ s{(</?)ds:}{$1}g;
            "<KeyInfo xmlns=\"$DS\">$k</KeyInfo>" }) }, 'in'],
    ['ns_uri_iso', sub {
        (my $t = $_[0]) =~ s{\Q$ISO\E}{http://standards.iso.org/iso/19770/-2/2009/schema.xsd}g or return undef; $t }, 'in'],
    ['ns_uri_ns0_only', sub {
        sub1($_[0], qr{xmlns:ns0="\Q$ISO\E"}, sub { 'xmlns:ns0="urn:example:other"' }) }, 'in'],
    ['ns_uri_ds', sub {
        sub1($_[0], qr{xmlns:ds="\Q$DS\E"}, sub { 'xmlns:ds="http://www.w3.org/2000/09/xmldsig-more#"' }) }, 'in'],
    ['ns_uri_ns2', sub {
        sub1($_[0], qr{xmlns:ns2="[^"]*"}, sub { 'xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha256"' }) }, 'in'],
    ['ns_redundant_ns0_on_payload', sub {
        sub1($_[0], qr{<ns0:Payload }, sub { "<ns0:Payload xmlns:ns0=\"$ISO\" " }) }, 'in'],
    ['ns_redundant_default_on_entity', sub {
        sub1($_[0], qr{<ns0:Entity }, sub { "<ns0:Entity xmlns=\"$ISO\" " }) }, 'in'],
    ['ns_redundant_ds_on_signedinfo', sub {
        sub1($_[0], qr{<ds:SignedInfo>}, sub { "<ds:SignedInfo xmlns:ds=\"$DS\">" }) }, 'in'],
    ['ns_redundant_ds_on_reference', sub {
        sub1($_[0], qr{<ds:Reference }, sub { "<ds:Reference xmlns:ds=\"$DS\" " }) }, 'in'],
    ['ns_unused_on_signature', sub {
        sub1($_[0], qr{<ds:Signature }, sub { '<ds:Signature xmlns:foo="urn:example:foo" ' }) }, 'in'],
    ['ns_unused_on_keyinfo', sub {
        sub1($_[0], qr{<ds:KeyInfo>}, sub { '<ds:KeyInfo xmlns:foo="urn:example:foo">' }) }, 'in'],
    ['ns_unused_on_root', sub {
        sub1($_[0], qr{\A<SoftwareIdentity }, sub { '<SoftwareIdentity xmlns:foo="urn:example:foo" ' }) }, 'in'],
    ['ns_ds_decl_to_root', sub {
        my $t = $_[0];
        $t =~ s{<ds:Signature xmlns:ds="\Q$DS\E"}{<ds:Signature} or return undef;
        sub1($t, qr{\A<SoftwareIdentity }, sub { "<SoftwareIdentity xmlns:ds=\"$DS\" " }) }, 'in'],
    ['ns_decl_order_root', sub {
        sub1($_[0], qr{\A<SoftwareIdentity (xmlns="[^"]*") (xmlns:ns0="[^"]*") (xmlns:ns2="[^"]*")},
            sub { "<SoftwareIdentity $3 $2 $1" }) }, 'in'],

    # --- whitespace and lexical form
    ['ws_between_attrs', sub {
        (my $t = $_[0]) =~ s{(<ns0:Resource) (type=)}{$1 \n\t  $2}g or return undef; $t }, 'in'],
    ['ws_before_empty_tag_end', sub {
        (my $t = $_[0]) =~ s{"/>}{" />}g or return undef; $t }, 'in'],
    ['ws_expand_empty', sub {
        sub1($_[0], qr{(<ns0:Entity [^>]*?)/>}, sub { "$1></ns0:Entity>" }) }, 'in'],
    ['ws_signed_text', sub {
        sub1($_[0], qr{\n(\s*<ns0:Resource )}, sub { "\n $1" }) }, 'in'],
    ['ws_before_sig', sub {
        sub1($_[0], qr{<ds:Signature }, sub { "\n<ds:Signature " }) }, 'in'],
    ['ws_after_sig', sub {
        sub1($_[0], qr{</ds:Signature>}, sub { "</ds:Signature>\n" }) }, 'in'],
    ['ws_after_root', sub { $_[0] . "\n\n  \n" }, 'in'],
    ['ws_between_sig_children', sub {
        my $t = $_[0];
        $t =~ s{</ds:SignedInfo><ds:SignatureValue>}{</ds:SignedInfo>\n  <ds:SignatureValue>} or return undef;
        $t =~ s{</ds:SignatureValue><ds:KeyInfo>}{</ds:SignatureValue>\n  <ds:KeyInfo>} or return undef;
        $t =~ s{</ds:KeyInfo></ds:Signature>}{</ds:KeyInfo>\n</ds:Signature>} or return undef;
        $t }, 'in'],
    ['ws_inside_signedinfo', sub {
        sub1($_[0], qr{<ds:SignedInfo><ds:CanonicalizationMethod}, sub { "<ds:SignedInfo>\n<ds:CanonicalizationMethod" }) }, 'in'],
    ['ws_in_tag_signedinfo', sub {    # only inside tags: c14n output unchanged
        my $t = $_[0];
        $t =~ s{<ds:Reference URI="">}{<ds:Reference\n  URI=""  >} or return undef;
        $t =~ s{(<ds:SignatureMethod Algorithm="[^"]*")/>}{$1 />} or return undef;
        $t }, 'in'],
    ['ws_expand_empty_signedinfo', sub {
        sub1($_[0], qr{(<ds:CanonicalizationMethod Algorithm="[^"]*")/>}, sub { "$1></ds:CanonicalizationMethod>" }) }, 'in'],
    ['ws_sigvalue_b64_newlines', sub { edit_text($_[0], 'ds:SignatureValue', sub { "\n" . wrap_b64($_[0], 64, "\n") . "\n" }) }, 'in'],
    ['ws_sigvalue_b64_spaces', sub { edit_text($_[0], 'ds:SignatureValue', sub { '  ' . wrap_b64($_[0], 16, ' ') . "\t " }) }, 'in'],
    ['ws_sigvalue_b64_crlf', sub { edit_text($_[0], 'ds:SignatureValue', sub { wrap_b64($_[0], 76, "\r\n") . "\r\n" }) }, 'in'],
    ['ws_digest_b64_newline', sub { edit_text($_[0], 'ds:DigestValue', sub { wrap_b64($_[0], 32, "\n") }) }, 'in'],
    ['ws_cert_b64_nowrap', sub {
        (my $t = $_[0]) =~ s{(<ds:X509Certificate>)(.*?)(</ds:X509Certificate>)}{$1 . wrap_b64($2, 60000, '') . $3}gse; $t }, 'in'],
    ['ws_cert_b64_indent', sub {
        (my $t = $_[0]) =~ s{(<ds:X509Certificate>)(.*?)(</ds:X509Certificate>)}{"$1\n        " . wrap_b64($2, 64, "\n        ") . "\n    $3"}gse; $t }, 'in'],
    ['ws_crlf_everywhere', sub { (my $t = $_[0]) =~ s/\n/\r\n/g; $t }, 'in'],
    ['ws_cr_only', sub { (my $t = $_[0]) =~ s/\n/\r/g; $t }, 'in'],
    ['xml_decl', sub { qq{<?xml version="1.0" encoding="UTF-8"?>\n} . $_[0] }, 'in'],
    ['xml_decl_standalone', sub { qq{<?xml version='1.0' encoding='utf-8' standalone='yes'?>} . $_[0] }, 'in'],
    ['utf8_bom', sub { "\xEF\xBB\xBF" . $_[0] }, 'in'],
    ['comment_before_root', sub { "<!-- RIM -->\n" . $_[0] }, 'in'],
    ['comment_in_payload', sub { sub1($_[0], qr{<ns0:Resource }, sub { '<!-- c --><ns0:Resource ' }) }, 'in'],
    ['comment_in_signedinfo', sub { sub1($_[0], qr{<ds:Reference }, sub { '<!-- c --><ds:Reference ' }) }, 'in'],
    ['comment_in_sigvalue', sub { edit_text($_[0], 'ds:SignatureValue', sub { substr($_[0], 0, 40) . '<!-- c -->' . substr($_[0], 40) }) }, 'in'],
    ['comment_in_digestvalue', sub { edit_text($_[0], 'ds:DigestValue', sub { substr($_[0], 0, 20) . '<!-- c -->' . substr($_[0], 20) }) }, 'in'],
    ['pi_before_root', sub { "<?foo bar?>\n" . $_[0] }, 'in'],
    ['pi_in_payload', sub { sub1($_[0], qr{<ns0:Resource }, sub { '<?foo bar?><ns0:Resource ' }) }, 'in'],
    ['cdata_whitespace', sub { sub1($_[0], qr{(</ns0:Payload>)(\n)}, sub { "$1<![CDATA[\n]]>" }) }, 'in'],
    ['cdata_sigvalue', sub { edit_text($_[0], 'ds:SignatureValue', sub { "<![CDATA[$_[0]]]>" }) }, 'in'],
    ['cdata_digestvalue', sub { edit_text($_[0], 'ds:DigestValue', sub { "<![CDATA[$_[0]]]>" }) }, 'in'],
    ['charref_sigvalue', sub { edit_text($_[0], 'ds:SignatureValue', sub { sprintf('&#%d;', ord $_[0]) . substr($_[0], 1) }) }, 'in'],
    ['doctype_empty', sub { "<!DOCTYPE SoftwareIdentity>\n" . $_[0] }, 'in'],
    ['doctype_entity', sub {
        my $t = sub1($_[0], qr{(<ns0:Entity name=")NVIDIA Corporation"}, sub { "$1&nv;\"" }) or return undef;
        qq{<!DOCTYPE SoftwareIdentity [<!ENTITY nv "NVIDIA Corporation">]>\n} . $t }, 'in'],

    # --- certificates in KeyInfo
    ['cert_reverse', sub { my @c = certs_of($_[0]); return undef if @c < 2; with_certs($_[0], reverse @c) }, 'in'],
    ['cert_swap_leaf_l3', sub { my @c = certs_of($_[0]); return undef if @c < 2; with_certs($_[0], @c[1, 0, 2 .. $#c]) }, 'in'],
    ['cert_dup_leaf', sub { my @c = certs_of($_[0]); with_certs($_[0], $c[0], @c) }, 'in'],
    ['cert_dup_root', sub { my @c = certs_of($_[0]); with_certs($_[0], @c, $c[-1]) }, 'in'],
    ['cert_remove_root', sub { my @c = certs_of($_[0]); return undef if @c < 2; with_certs($_[0], @c[0 .. $#c - 1]) }, 'in'],
    ['cert_remove_intermediate', sub { my @c = certs_of($_[0]); return undef if @c < 3; with_certs($_[0], @c[0, 2 .. $#c]) }, 'in'],
    ['cert_remove_leaf', sub { my @c = certs_of($_[0]); return undef if @c < 2; with_certs($_[0], @c[1 .. $#c]) }, 'in'],
    ['cert_only_leaf', sub { my @c = certs_of($_[0]); with_certs($_[0], $c[0]) }, 'in'],
    ['cert_none', sub { sub1($_[0], qr{<ds:X509Data>.*?</ds:X509Data>}s, sub { '<ds:X509Data></ds:X509Data>' }) }, 'in'],
    ['cert_foreign_first', sub {
        return undef unless defined $foreign_leaf;
        my @c = certs_of($_[0]); return undef if $c[0] eq $foreign_leaf;
        with_certs($_[0], $foreign_leaf, @c) }, 'in'],
    ['cert_foreign_last', sub {
        return undef unless defined $foreign_leaf;
        my @c = certs_of($_[0]); return undef if $c[0] eq $foreign_leaf;
        with_certs($_[0], @c, $foreign_leaf) }, 'in'],
    ['cert_split_x509data', sub {
        my @c = certs_of($_[0]);
        my $x = join('', map { "<ds:X509Data><ds:X509Certificate>$_</ds:X509Certificate></ds:X509Data>" } @c);
        sub1($_[0], qr{<ds:X509Data>.*?</ds:X509Data>}s, sub { $x }) }, 'in'],
    ['cert_bitflip_leaf', sub {    # a bit in the leaf's signature (last bytes of the DER)
        my @c = certs_of($_[0]); $c[0] = flip_b64($c[0], -3, 0); with_certs($_[0], @c) }, 'in'],
    ['cert_bitflip_l3', sub {
        my @c = certs_of($_[0]); return undef if @c < 2; $c[1] = flip_b64($c[1], -3, 0); with_certs($_[0], @c) }, 'in'],

    # --- SignatureValue / DigestValue bytes
    ['sigvalue_flip_first', sub { edit_text($_[0], 'ds:SignatureValue', sub { flip_b64($_[0], 0, 7) }) }, 'in'],
    ['sigvalue_flip_mid', sub { edit_text($_[0], 'ds:SignatureValue', sub { flip_b64($_[0], 47, 0) }) }, 'in'],
    ['sigvalue_flip_last', sub { edit_text($_[0], 'ds:SignatureValue', sub { flip_b64($_[0], -1, 0) }) }, 'in'],
    ['sigvalue_swap_rs', sub {
        edit_text($_[0], 'ds:SignatureValue', sub { my $r = decode_base64($_[0]); b64(substr($r, 48) . substr($r, 0, 48)) }) }, 'in'],
    ['sigvalue_high_s', sub {    # (r, n - s) is the same ECDSA signature's twin
        edit_text($_[0], 'ds:SignatureValue', sub {
            my $raw = decode_base64($_[0]);
            return $_[0] unless length($raw) == 96;
            my $s = Math::BigInt->from_hex(unpack('H*', substr($raw, 48)));
            my $h = substr(Math::BigInt->new($P384_N)->bsub($s)->as_hex, 2);
            $h = ('0' x (96 - length $h)) . $h;
            b64(substr($raw, 0, 48) . pack('H*', $h)) }) }, 'in'],
    ['sigvalue_der', sub {
        edit_text($_[0], 'ds:SignatureValue', sub {
            my $raw = decode_base64($_[0]);
            my $body = der_int(substr($raw, 0, 48)) . der_int(substr($raw, 48));
            b64("\x30" . chr(length $body) . $body) }) }, 'in'],
    ['sigvalue_truncated', sub { edit_text($_[0], 'ds:SignatureValue', sub { b64(substr(decode_base64($_[0]), 0, 95)) }) }, 'in'],
    ['sigvalue_zero_prefixed', sub { edit_text($_[0], 'ds:SignatureValue', sub { b64("\x00" . decode_base64($_[0])) }) }, 'in'],
    ['sigvalue_empty', sub { edit_text($_[0], 'ds:SignatureValue', sub { '' }) }, 'in'],
    ['sigvalue_bad_b64', sub { edit_text($_[0], 'ds:SignatureValue', sub { '!' . substr($_[0], 1) }) }, 'in'],
    ['digest_flip', sub { edit_text($_[0], 'ds:DigestValue', sub { flip_b64($_[0], 10, 3) }) }, 'in'],
    ['digest_truncated', sub { edit_text($_[0], 'ds:DigestValue', sub { b64(substr(decode_base64($_[0]), 0, 32)) }) }, 'in'],

    # --- algorithm URIs
    ['alg_c14n10', sub { sub1($_[0], qr{(<ds:CanonicalizationMethod Algorithm=")[^"]*"}, sub { "$1http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"" }) }, 'in'],
    ['alg_c14n_exc', sub { sub1($_[0], qr{(<ds:CanonicalizationMethod Algorithm=")[^"]*"}, sub { "$1http://www.w3.org/2001/10/xml-exc-c14n#\"" }) }, 'in'],
    ['alg_c14n11_comments', sub { sub1($_[0], qr{(<ds:CanonicalizationMethod Algorithm=")[^"]*"}, sub { "$1$C14N11#WithComments\"" }) }, 'in'],
    ['alg_transform_c14n10', sub { sub1($_[0], qr{(<ds:Transform Algorithm=")\Q$C14N11\E"}, sub { "$1http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"" }) }, 'in'],
    ['alg_transform_exc', sub { sub1($_[0], qr{(<ds:Transform Algorithm=")\Q$C14N11\E"}, sub { "$1http://www.w3.org/2001/10/xml-exc-c14n#\"" }) }, 'in'],
    ['alg_transform_comments', sub { sub1($_[0], qr{(<ds:Transform Algorithm=")\Q$C14N11\E"}, sub { "$1$C14N11#WithComments\"" }) }, 'in'],
    ['alg_digest_sha256', sub { sub1($_[0], qr{(<ds:DigestMethod Algorithm=")[^"]*"}, sub { "$1http://www.w3.org/2001/04/xmlenc#sha256\"" }) }, 'in'],
    ['alg_sigmethod_sha256', sub { sub1($_[0], qr{(<ds:SignatureMethod Algorithm=")[^"]*"}, sub { "$1http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"" }) }, 'in'],
    ['alg_no_enveloped', sub { sub1($_[0], qr{<ds:Transform Algorithm="[^"]*enveloped-signature"/>}, sub { '' }) }, 'in'],
    ['alg_no_c14n_transform', sub { sub1($_[0], qr{<ds:Transform Algorithm="\Q$C14N11\E"/>}, sub { '' }) }, 'in'],
    ['alg_transforms_swapped', sub {
        sub1($_[0], qr{(<ds:Transform Algorithm="[^"]*enveloped-signature"/>)(<ds:Transform Algorithm="\Q$C14N11\E"/>)}, sub { "$2$1" }) }, 'in'],
    ['alg_transforms_removed', sub { sub1($_[0], qr{<ds:Transforms>.*?</ds:Transforms>}s, sub { '' }) }, 'in'],
);

# Kinds every document gets; the %DEEP documents get all of @kinds.
my %core = map { $_ => 1 } qw(
    identity identity_out time_nb-1s time_nb time_na-1s time_na time_na+1s
    attr_hash_digit attr_reorder_meta reorder_resources dup_resource dup_meta
    extra_reference second_signature_end sig_move_first sig_in_object
    ns_rename_ns0 ns_rename_ds ns_redundant_ds_on_signedinfo
    ws_between_attrs ws_between_sig_children ws_sigvalue_b64_newlines ws_cert_b64_nowrap
    ws_crlf_everywhere xml_decl comment_in_payload cdata_digestvalue
    cert_reverse cert_remove_root cert_foreign_first
    sigvalue_flip_mid sigvalue_high_s digest_flip alg_c14n10 alg_c14n_exc
);
my %known = map { $_->[0] => 1 } @kinds;
for (keys %core) { die "core kind $_ is not defined\n" unless $known{$_} }

# ---------------------------------------------------------------------- main --

my @files;
find({ no_chdir => 1, wanted => sub { push @files, $File::Find::name if /\.xml\z/ && -f $_ } }, $fixdir);
@files = sort @files;
die "no *.xml under $fixdir\n" unless @files;

sub slurp { my ($p) = @_; open(my $fh, '<:raw', $p) or die "$p: $!\n"; local $/; my $s = <$fh>; return $s }

for my $f (@files) {
    next unless $f =~ m{/debug_root_chain/};
    my @c = certs_of(slurp($f));
    $foreign_leaf = $c[0] if @c;
}

open(my $man, '>', "$outdir/manifest.tsv") or die "$outdir/manifest.tsv: $!\n";
my (%per_kind, $total);
for my $f (@files) {
    (my $rel = $f) =~ s{^\Q$fixdir\E/*}{};
    my $src = slurp($f);
    my @certs = certs_of($src);
    unless (@certs) { warn "mutate_rims: $rel: no X509Certificate, skipped\n"; next }
    my ($nb, $na) = (0, 2**62);
    for my $c (@certs) {
        my ($b, $a) = eval { cert_window($c) };
        unless (defined $a) { warn "mutate_rims: $rel: unreadable certificate: $@"; next }
        $nb = $b if $b > $nb;
        $na = $a if $a < $na;
    }
    my $in;
    for my $p (@PINNED) { my $t = time_of_iso($p); if ($t >= $nb && $t < $na) { $in = $t; last } }
    $in //= $nb <= $na ? $nb + int(($na - $nb) / 2) : $nb;
    my $out = $na + 86400;
    my %at = ('in' => $in, 'out' => $out, 'nb-1' => $nb - 1, 'nb' => $nb, 'na-1' => $na - 1, 'na' => $na, 'na+1' => $na + 1);

    (my $tag = $rel) =~ s{\.xml\z}{};
    $tag =~ s{[^A-Za-z0-9._-]+}{_}g;
    for my $k (@kinds) {
        my ($name, $fn, $when) = @$k;
        next unless $DEEP{$rel} || $core{$name};
        my $m = $fn->($src);
        if (!defined $m || ($m eq $src && $name !~ /^(identity|time_)/)) {
            warn "mutate_rims: $rel: $name does not apply, skipped\n";
            next;
        }
        my $iso = iso_of($at{$when});
        (my $stamp = $iso) =~ s/[-:]//g;
        my $file = "${tag}__${name}__${stamp}.xml";
        open(my $fh, '>:raw', "$outdir/$file") or die "$outdir/$file: $!\n";
        print $fh $m;
        close $fh or die "$outdir/$file: $!\n";
        print $man "$file\t$iso\t$name\t$rel\n";
        $per_kind{$name}++;
        $total++;
    }
}
close $man or die "manifest: $!\n";
printf STDERR "mutate_rims: %d mutants of %d documents, %d kinds\n", $total // 0, scalar @files, scalar keys %per_kind;
