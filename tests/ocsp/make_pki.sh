#!/bin/sh
# The OCSP tests' private PKI: the ocsp mode of the one test-PKI generator.
#   make_pki.sh DIR
exec sh "$(dirname "$0")/../pki/make_pki.sh" ocsp "$1"
